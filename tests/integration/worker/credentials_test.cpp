// The NATS credentials a worker holds are out of reach of the programs it runs: given as text
// (SMITH_NATS_CREDS_DATA) they live in a memory file, and a worker with exec programs refuses
// them as a file. Against a nats-server in operator mode (JWT and nkey, tests/fixtures/operator).
#include "worker_harness.hpp"

#include "transport/publisher.hpp"
#include "transport/topology.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

using namespace smith::testing;
using json = nlohmann::json;

namespace {

std::filesystem::path fixtures() {
  const char* dir = std::getenv("SMITH_TEST_FIXTURES");
  REQUIRE_MESSAGE(dir != nullptr, "SMITH_TEST_FIXTURES is not set: run through meson test");
  return std::filesystem::path{dir} / "operator";
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in{path};
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// The user's nkey seed: the secret a program must not find.
std::string user_seed(const std::string& creds) {
  auto begin = creds.find("-----BEGIN USER NKEY SEED-----");
  REQUIRE(begin != std::string::npos);
  auto start = creds.find("SU", begin);
  auto end = creds.find('\n', start);
  REQUIRE(start != std::string::npos);
  return creds.substr(start, end - start);
}

server_options operator_mode() {
  server_options o;
  o.extra_config = read_text(fixtures() / "server.conf");
  return o;
}

/// An operator-mode server, its topology applied with the test user's credentials.
struct operator_fixture {
  operator_fixture() : creds(read_text(fixtures() / "user.creds")), dir("creds") {
    tp::connection_config cc;
    cc.servers = {server.url()};
    cc.credentials_data = creds;
    conn = must(tp::connection::connect(cc));
    must(tp::apply(*conn, tp::declare(topo)));
    pub = must(tp::publisher::create(conn, {}));
    results.emplace(*conn);
  }

  nats_server server{operator_mode()};
  std::string creds;
  tp::topology_config topo = server_fixture::worker_topology();
  std::shared_ptr<tp::connection> conn;
  std::unique_ptr<tp::publisher> pub;
  std::optional<result_collector> results;
  temp_dir dir;
};

/// The worker command; as root, run as nobody: root reads any process's /proc files
/// (CAP_SYS_PTRACE), so only another user shows what a program of the worker's uid can read.
std::vector<std::string> worker_command() {
  if (::geteuid() != 0)
    return {smith_binary(), "worker"};
  return {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
          "--clear-groups",   smith_binary(),  "worker"};
}

} // namespace

TEST_CASE("a worker with exec programs refuses a credentials file, naming what to use instead") {
  operator_fixture f;
  auto file = (fixtures() / "user.creds").string();
  worker_process w{
    f.server.url(), f.dir, {}, {{"SMITH_NATS_CREDS", file}, {"SMITH_EXEC_ALLOW", "cat=/bin/cat"}}};
  REQUIRE(wait_until([&] { return !w.process.running(); }, 20s));
  CHECK(w.process.describe_exit() == "exited with status 2");
  auto log = w.log_text();
  CHECK_MESSAGE(log.find("SMITH_NATS_CREDS_DATA") != std::string::npos, log);
  CHECK_MESSAGE(log.find("(cat)") != std::string::npos, log);

  // A TLS client key as a file, the same.
  auto tls = fixtures().parent_path() / "tls";
  worker_process keyed{f.server.url(),
                       f.dir,
                       {},
                       {{"SMITH_NATS_CREDS_DATA", f.creds},
                        {"SMITH_NATS_TLS_CERT", (tls / "client.pem").string()},
                        {"SMITH_NATS_TLS_KEY", (tls / "client-key.pem").string()},
                        {"SMITH_EXEC_ALLOW", "cat=/bin/cat"}}};
  REQUIRE(wait_until([&] { return !keyed.process.running(); }, 20s));
  CHECK(keyed.process.describe_exit() == "exited with status 2");
  CHECK_MESSAGE(keyed.log_text().find("SMITH_NATS_TLS_KEY_DATA") != std::string::npos,
                keyed.log_text());

  // With no exec program to read it, the file is fine: the worker logs in with it.
  worker_process plain{f.server.url(), f.dir, {}, {{"SMITH_NATS_CREDS", file}}};
  CHECK_MESSAGE(plain.wait_ready(), plain.log_text());
}

TEST_CASE("a program the worker runs cannot find the credentials given as text") {
  operator_fixture f;
  auto seed = user_seed(f.creds);
  worker_process w{f.server.url(),
                   f.dir,
                   {"--concurrency", "1"},
                   {{"SMITH_NATS_CREDS_DATA", f.creds}, {"SMITH_EXEC_ALLOW", "sh=/bin/sh"}},
                   worker_command()};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());

  // The program's parent is its keeper, the keeper's parent the worker. It prints what it can
  // read of its own environment (proving it can read /proc), then tries the keeper's and the
  // worker's environments and open files (the memory file among them; regular files only, as
  // a pipe would block the read).
  const std::string script =
    "k=$PPID; w=$(cut -d' ' -f4 /proc/$k/stat); echo worker=$w; "
    "cat /proc/self/environ | tr '\\0' '\\n'; "
    "for p in $k $w; do "
    "  cat /proc/$p/environ && echo read-environ-$p; "
    "  ls -l /proc/$p/fd/ && echo listed-fd-$p; "
    "  for fd in /proc/$p/fd/*; do [ -f $fd ] && cat $fd && echo read-fd-$fd; done; "
    "done; exit 0";
  auto task = task_of("snoop", "exec", json{{"argv", {"sh", "-c", script}}}.dump());
  must(f.pub->publish(must(tp::task_message(tp::wire::subjects{f.topo.prefix}, "test", task)), 5s));
  REQUIRE_MESSAGE(wait_until([&] { return f.results->get("snoop").has_value(); }, 30s),
                  w.log_text());
  auto r = *f.results->get("snoop");
  REQUIRE_MESSAGE(r.ok, r.error.value_or(""));
  auto out = json::parse(r.output);
  auto stdout_text = out["stdout"].get<std::string>();
  auto stderr_text = out["stderr"].get<std::string>();
  INFO("stdout: " << stdout_text << "\nstderr: " << stderr_text);
  CHECK(stdout_text.find("worker=") != std::string::npos);
  CHECK(stdout_text.find("PATH=") != std::string::npos); // its own environment is readable
  CHECK(stdout_text.find(seed) == std::string::npos);
  CHECK(stdout_text.find("NATS USER JWT") == std::string::npos);
  CHECK(stdout_text.find("SMITH_NATS") == std::string::npos);
  CHECK(stdout_text.find("read-environ") == std::string::npos);
  CHECK(stdout_text.find("listed-fd") == std::string::npos);
  CHECK(stdout_text.find("read-fd") == std::string::npos);
  CHECK(stderr_text.find("Permission denied") != std::string::npos);
}

TEST_CASE("a handler process cannot find the credentials either; a file is refused beside it") {
  const char* py = std::getenv("PROMETHEUS_PYTHON");
  const char* sdk = std::getenv("PYTHON_SDK_DIR");
  const char* handlers = std::getenv("PY_HANDLERS");
  REQUIRE_MESSAGE((py != nullptr && sdk != nullptr && handlers != nullptr),
                  "PROMETHEUS_PYTHON, PYTHON_SDK_DIR and PY_HANDLERS: run through meson test");
  operator_fixture f;
  // As nobody (worker_command), the test venv's python may sit below a home it cannot enter:
  // the system's python3 runs the handlers, with the venv's packages (msgpack) on its path.
  auto venv_packages = std::filesystem::path{py}.parent_path().parent_path() / "lib";
  std::string site;
  for (const auto& e : std::filesystem::directory_iterator{venv_packages})
    site = (e.path() / "site-packages").string();
  auto command = std::string{"/usr/bin/python3 "} + handlers;
  worker_process refused{f.server.url(),
                         f.dir,
                         {"--handler-process", command},
                         {{"SMITH_NATS_CREDS", (fixtures() / "user.creds").string()}}};
  REQUIRE(wait_until([&] { return !refused.process.running(); }, 20s));
  CHECK(refused.process.describe_exit() == "exited with status 2");
  CHECK_MESSAGE(refused.log_text().find("handler processes could read this file")
                  != std::string::npos,
                refused.log_text());

  auto seed = user_seed(f.creds);
  worker_process w{
    f.server.url(),
    f.dir,
    {"--concurrency", "1", "--handler-process", command},
    {{"SMITH_NATS_CREDS_DATA", f.creds}, {"PYTHONPATH", std::string{sdk} + ":" + site}},
    worker_command()};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  auto task = task_of("snoop-py", "snoop", "");
  must(f.pub->publish(must(tp::task_message(tp::wire::subjects{f.topo.prefix}, "test", task)), 5s));
  REQUIRE_MESSAGE(wait_until([&] { return f.results->get("snoop-py").has_value(); }, 30s),
                  w.log_text());
  auto r = *f.results->get("snoop-py");
  REQUIRE_MESSAGE(r.ok, r.error.value_or("") << w.log_text());
  auto out = json::parse(r.output);
  INFO(out.dump(2));
  auto own = out["own_env"].get<std::string>();
  CHECK(own.find("SMITH_HANDLER_PROTOCOL=1") != std::string::npos); // it read its own
  CHECK(own.find("SMITH_NATS") == std::string::npos);
  CHECK(out["worker"].get<int>() > 1);
  auto found = out["found"].dump();
  CHECK(found.find(seed) == std::string::npos);
  CHECK(found.find("NATS USER JWT") == std::string::npos);
  CHECK(out["found"].empty());
  CHECK(out["errors"].dump().find("Permission denied") != std::string::npos);
}

TEST_CASE("a worker whose login the server refuses exits 3 and says why, instead of idling on a "
          "closed connection") {
  server_options o;
  o.extra_config = "authorization { user: smith, password: right }";
  nats_server server{o};
  temp_dir dir{"refused"};
  worker_process w{server.url(),
                   dir,
                   {},
                   {{"SMITH_NATS_USER", "smith"},
                    {"SMITH_NATS_PASSWORD", "wrong"},
                    {"SMITH_EXIT_GRACE", "100ms"}}};
  REQUIRE_MESSAGE(wait_until([&] { return !w.process.running(); }, 30s), w.log_text());
  auto log = w.log_text();
  CHECK_MESSAGE(w.process.describe_exit() == "exited with status 3", log);
  CHECK_MESSAGE(log.find("nats connection closed for good") != std::string::npos, log);
  CHECK_MESSAGE(log.find("\"error_type\":\"nats_closed\"") != std::string::npos, log);
  CHECK_MESSAGE(log.find("refuses its login twice") != std::string::npos, log); // the hint
}
