// The CLI as a new user meets it: outputs end their line, status reads like text, tables stay
// aligned, --json is JSON even for errors, direct mode shows what --api shows, progress shows
// on a terminal, --api takes a prefix, and every command's help has an example.
#include "orchestrator_harness.hpp"

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>

#include <condition_variable>
#include <thread>

using namespace orchestrator_testing;

extern char** environ;

namespace {

// Runs `argv` with stdin, stdout and stderr on a pseudo-terminal, as a user's shell would in a
// terminal; the result's `out` is everything it wrote there (the terminal turns \n into \r\n).
command_result run_on_terminal(const std::vector<std::string>& argv,
                               const std::map<std::string, std::string>& env) {
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e)
    if (auto eq = std::string_view{*e}.find('='); !env.contains(std::string{*e, eq}))
      vars.emplace_back(*e);
  for (const auto& [k, v] : env)
    vars.push_back(std::string{k}.append("=").append(v));
  std::vector<char*> args;
  std::vector<char*> envp;
  args.reserve(argv.size() + 1);
  envp.reserve(vars.size() + 1);
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  for (auto& v : vars)
    envp.push_back(v.data());
  args.push_back(nullptr);
  envp.push_back(nullptr);
  int master = -1;
  winsize size{24, 200, 0, 0}; // wide: lines are not wrapped
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  command_result r;
  auto until = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(&p, 1, 200) <= 0)
      continue;
    char buf[4096];
    auto n = ::read(master, buf, sizeof buf);
    if (n <= 0)
      break; // EIO: the child and its terminal are gone
    r.out.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(master);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

struct cli_fixture : fixture {
  cli_fixture() : o{s.server.url(), dir}, w{s.server.url(), dir, {"--concurrency", "4"}} {
    REQUIRE(o.wait_ready());
    REQUIRE(w.wait_ready());
  }

  command_result smith(std::vector<std::string> args, const std::string& in = {}) {
    args.insert(args.begin(), smith_binary());
    return run_command(args, cli_env(*this), in);
  }

  command_result smith_api(std::vector<std::string> args) {
    args.insert(args.end(), {"--api", o.url(), "--token", token});
    return smith(std::move(args));
  }

  orchestrator_process o;
  worker_process w;
};

} // namespace

TEST_CASE("--wait and watch end a text output with one newline; other bytes go out as they are") {
  cli_fixture f;
  auto piped = f.smith({"submit", "--role", "test", "--type", "echo", "--payload", R"("hello")",
                        "--id", "nl-1", "--wait"});
  CHECK_MESSAGE(piped.exit_code == 0, piped.err);
  CHECK(piped.out == "hello\n");
  auto ends =
    f.smith({"submit", "--role", "test", "--type", "echo", "--payload", R"("two\n")", "--wait"});
  CHECK(ends.out == "two\n"); // not a second one
  auto term = run_on_terminal({smith_binary(), "submit", "--role", "test", "--type", "echo",
                               "--payload", R"("hi")", "--wait"},
                              cli_env(f));
  CHECK(term.exit_code == 0);
  CHECK(term.out.ends_with("hi\r\n"));
  auto bytes = f.smith({"submit", "--role", "test", "--type", "echo", "-", "--wait"}, "\xff\xfe");
  CHECK(bytes.out == "\xff\xfe");
  auto watched = f.smith({"watch", "nl-1"});
  CHECK(watched.out == "hello\n");
}

TEST_CASE("status shows readable times with their age and the whole output, control bytes "
          "escaped; --json keeps the numbers and the bytes") {
  cli_fixture f;
  auto sub = f.smith({"submit", "--role", "test", "--type", "echo", "-", "--id", "nul-1", "--wait"},
                     std::string{"a\0b\x1b[31mred\n", 12});
  REQUIRE_MESSAGE(sub.exit_code == 0, sub.err);
  auto text = f.smith({"status", "nul-1"});
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("output       a\\x00b\\x1b[31mred\\n\n") != std::string::npos);
  CHECK(text.out.find('\x1b') == std::string::npos);
  CHECK(text.out.find("finished     20") != std::string::npos);
  CHECK(text.out.find("Z (") != std::string::npos);
  CHECK(text.out.find(" ago)") != std::string::npos);
  CHECK(text.out.find("finished_ms") == std::string::npos);
  auto doc = json::parse(f.smith({"status", "nul-1", "--json"}).out);
  CHECK(doc["finished_ms"].is_number_integer());
  CHECK(doc["output"] == std::string{"a\0b\x1b[31mred\n", 12});
}

TEST_CASE("dlq list keeps its columns aligned with default task ids") {
  cli_fixture f;
  auto dead = f.smith({"submit", "--role", "test", "--type", "fail", "--payload",
                       R"({"fail_times":9,"mode":"error"})", "--count", "2", "--wait"});
  REQUIRE(dead.exit_code == 1);
  auto list = f.smith({"dlq", "list"});
  REQUIRE(list.exit_code == 0);
  std::istringstream in{list.out};
  std::string header;
  std::getline(in, header);
  auto role_at = header.find("ROLE");
  auto reason_at = header.find("REASON");
  int rows = 0;
  for (std::string line; std::getline(in, line); ++rows) {
    CHECK(line.substr(role_at, 5) == "test ");
    CHECK(line.substr(reason_at).starts_with("fail: attempt 3"));
    CHECK(line.find(" t-") != std::string::npos); // a default id: t- and 28 hex digits
  }
  CHECK(rows == 2);
}

TEST_CASE("with --json an error is one JSON object on stderr, the exit code unchanged") {
  cli_fixture f;
  auto missing = f.smith({"status", "no-such-task", "--json"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.out.empty());
  auto doc = json::parse(missing.err);
  CHECK(doc["error"] == "not_found");
  CHECK(doc["detail"].get<std::string>().find("no task") != std::string::npos);
  auto usage = f.smith({"submit", "--role", "test", "--json"});
  CHECK(usage.exit_code == 2);
  CHECK(json::parse(usage.err)["error"] == "usage");
  auto denied = f.smith({"queues", "--json", "--api", f.o.url(), "--token", "wrong"});
  CHECK(denied.exit_code == 2);
  CHECK(json::parse(denied.err)["error"] == "unauthorized");
  auto down =
    run_command({smith_binary(), "queues", "--json"}, {{"SMITH_NATS_URL", "nats://127.0.0.1:1"}});
  CHECK(down.exit_code == 3);
  CHECK(json::parse(down.err)["error"] == "unavailable");
  auto plain = f.smith({"status", "no-such-task"});
  CHECK(plain.err.starts_with("smith: no task"));
}

TEST_CASE("--count with --json prints each task's answer as JSON, one line each") {
  cli_fixture f;
  auto r = f.smith({"submit", "--role", "test", "--type", "echo", "--payload", "1", "--count", "3",
                    "--id", "batch", "--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::istringstream in{r.out};
  int i = 0;
  for (std::string line; std::getline(in, line); ++i) {
    auto doc = json::parse(line);
    CHECK(doc["id"] == "batch-" + std::to_string(i));
    CHECK(doc["duplicate"] == false);
  }
  CHECK(i == 3);
}

TEST_CASE("status of a running task is the same JSON directly and via --api, worker and "
          "progress included; only its worker answers a task ping") {
  cli_fixture f;
  REQUIRE(
    f.smith({"submit", "--role", "test", "--type", "sleep", "--payload", "30000", "--id", "long-1"})
      .exit_code
    == 0);
  json api;
  REQUIRE(wait_until(
    [&] {
      api = f.o.call("GET", "/v1/tasks/long-1");
      return api.contains("progress");
    },
    20s));
  auto direct = json::parse(f.smith({"status", "long-1", "--json"}).out);
  auto via_api = json::parse(f.smith_api({"status", "long-1", "--json"}).out);
  CHECK(direct["worker"].get<std::string>().find(':') != std::string::npos);
  CHECK(direct["progress"]["message"].get<std::string>().starts_with("slept "));
  // Progress moves on between the calls (every 3 s here): the rest is the same.
  direct.erase("progress");
  via_api.erase("progress");
  CHECK(direct == via_api);
  CHECK(direct.size() == 7); // id, state, role, type, worker, attempts, started_ms

  // The ping itself (docs/WIRE.md §1): the running task's worker answers, nobody else.
  auto ask = [&](const std::string& id) {
    std::mutex mtx;
    std::condition_variable cv;
    std::optional<std::string> got;
    auto sub = must(tp::subscription::create(f.s.conn, "_INBOX.ping-test", [&](auto& m) {
      std::lock_guard guard{mtx};
      got = std::string{m.data};
      cv.notify_all();
    }));
    must(f.s.conn->flush(2s));
    must(tp::publish_core(*f.s.conn, "smith.ping.task." + id, "", "_INBOX.ping-test"));
    std::unique_lock lock{mtx};
    cv.wait_for(lock, 1s, [&] { return got.has_value(); });
    return got;
  };
  auto answer = ask("long-1");
  REQUIRE(answer);
  auto doc = json::parse(*answer);
  doc.erase("progress");
  CHECK(doc == via_api);
  CHECK_FALSE(ask("not-running"));
  f.o.call("POST", "/v1/tasks/long-1/cancel", nullptr, 202);
}

TEST_CASE("a terminal shows the progress bar in direct mode, and done/N with each task as it "
          "ends for --count N --wait") {
  cli_fixture f;
  auto bar = run_on_terminal(
    {smith_binary(), "submit", "--role", "test", "--type", "sleep", "--payload", "1500", "--wait"},
    cli_env(f));
  CHECK(bar.exit_code == 0);
  CHECK_MESSAGE(bar.out.find("] ") != std::string::npos, bar.out);
  CHECK_MESSAGE(bar.out.find("% slept ") != std::string::npos, bar.out);
  CHECK(bar.out.ends_with("slept 1500 ms\r\n"));

  auto many = run_on_terminal({smith_binary(), "submit", "--role", "test", "--type", "sleep",
                               "--payload", "200", "--count", "3", "--id", "many", "--wait"},
                              cli_env(f));
  CHECK(many.exit_code == 0);
  CHECK_MESSAGE(many.out.find("submitted 3/3") != std::string::npos, many.out);
  CHECK_MESSAGE(many.out.find("3/3 done: 3 succeeded") != std::string::npos, many.out);
  auto piped = f.smith({"submit", "--role", "test", "--type", "echo", "--payload", "1", "--count",
                        "2", "--id", "piped", "--wait"});
  CHECK(piped.exit_code == 0);
  CHECK(piped.out.find("piped-0 succeeded\n") != std::string::npos);
  CHECK(piped.out.find("piped-1 succeeded\n") != std::string::npos);
  CHECK(piped.out.find("2 tasks: 2 succeeded in ") != std::string::npos);
  CHECK(piped.err.empty()); // no counter off a terminal
}

TEST_CASE("--api takes a trailing slash and a path prefix, and a wrong URL gets a right hint") {
  cli_fixture f;
  // A proxy that serves the orchestrator under /smith, as an ingress would.
  httplib::Server proxy;
  std::mutex mtx;
  std::vector<std::string> paths;
  proxy.Get(R"(/smith(/.*))", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard guard{mtx};
      paths.push_back(req.path);
    }
    auto up = f.o.request("GET", req.matches[1].str());
    if (!up) {
      res.status = 502;
      return;
    }
    res.status = up->status;
    res.set_content(up->body, "application/json");
  });
  auto port = proxy.bind_to_any_port("127.0.0.1");
  std::thread serving{[&] { proxy.listen_after_bind(); }};
  REQUIRE(wait_until([&] { return proxy.is_running(); }, 5s));
  auto base = "http://127.0.0.1:" + std::to_string(port);

  auto slash = f.smith({"queues", "--api", f.o.url() + "/", "--token", token});
  CHECK_MESSAGE(slash.exit_code == 0, slash.err);
  for (const auto& url : {base + "/smith", base + "/smith/"}) {
    auto r = f.smith({"queues", "--json", "--api", url});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(json::parse(r.out)["queues"][0]["role"] == "test");
  }
  {
    std::lock_guard guard{mtx};
    CHECK(paths == std::vector<std::string>{"/smith/v1/queues", "/smith/v1/queues"});
  }
  auto wrong_path = f.smith({"queues", "--api", base + "/other"});
  CHECK(wrong_path.exit_code == 2);
  CHECK(wrong_path.err.find("GET /other/v1/queues with 404") != std::string::npos);
  CHECK(wrong_path.err.find("Hint: --api takes the orchestrator's base URL") != std::string::npos);
  auto no_scheme = f.smith({"queues", "--api", "127.0.0.1:" + std::to_string(f.o.http_port)});
  CHECK(no_scheme.exit_code == 2);
  CHECK(no_scheme.err.find("has no scheme") != std::string::npos);
  auto nobody = f.smith({"queues", "--api", "http://127.0.0.1:1"});
  CHECK(nobody.exit_code == 3);
  CHECK(nobody.err.find("is `smith orchestrator` running there?") != std::string::npos);
  proxy.stop();
  serving.join();
}

TEST_CASE("every command's help shows an example") {
  fixture f;
  const std::vector<std::vector<std::string>> commands{
    {"submit"},
    {"status"},
    {"watch"},
    {"cancel"},
    {"queues"},
    {"dlq", "list"},
    {"dlq", "requeue"},
    {"dlq", "purge"},
    {"schedule", "create"},
    {"schedule", "list"},
    {"schedule", "show"},
    {"schedule", "delete"},
    {"topology", "apply"},
    {"worker"},
    {"health"},
    {"orchestrator"},
    {"gateway"},
    {"tasks"},
    {"workers"},
    {"dlq", "show"},
    {"queues", "purge"},
    {"topology"},
    {"dlq"},
    {"schedule"},
  };
  for (auto args : commands) {
    args.insert(args.begin(), smith_binary());
    args.emplace_back("--help");
    auto r = run_command(args, cli_env(f));
    CHECK_MESSAGE(r.exit_code == 0, args[1]);
    CHECK_MESSAGE(r.out.find("\nExample:\n  smith ") != std::string::npos,
                  args[1] << ": " << r.out);
  }
}
