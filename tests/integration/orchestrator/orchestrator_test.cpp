// `smith orchestrator` and the task commands against a real nats-server and real workers:
// the HTTP API with good and bad input, dead letters with two orchestrators, cancel, the CLI's
// exit codes in both modes, and the EMF queue-depth line.
#include "../worker/worker_harness.hpp"
#include "support/command.hpp"
#include "transport/subscription.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace smith::testing;
using json = nlohmann::json;

namespace {

constexpr const char* token = "s3cret-token";

/// One `smith orchestrator` process with its own HTTP port and log.
struct orchestrator_process {
  orchestrator_process(const std::string& nats_url, const temp_dir& dir,
                       std::map<std::string, std::string> env = {})
    : http_port(free_port()),
      log(dir.path() / ("orchestrator-" + std::to_string(http_port) + ".log")) {
    env.emplace("SMITH_NATS_URL", nats_url);
    env.emplace("SMITH_ROLES", "test");
    env.emplace("SMITH_API_TOKEN", token);
    env.emplace("SMITH_METRICS_INTERVAL", "1");
    env.emplace("SMITH_API_MAX_BODY", "200000");
    for (const auto& [k, v] : env)
      ::setenv(k.c_str(), v.c_str(), 1);
    process = child_process::spawn({smith_binary(), "orchestrator", "--http-host", "127.0.0.1",
                                    "--http-port", std::to_string(http_port)},
                                   log);
    for (const auto& [k, v] : env)
      ::unsetenv(k.c_str());
  }

  httplib::Result request(const std::string& method, const std::string& path,
                          const std::string& body = {}, const char* bearer = token) const {
    httplib::Client cli{"127.0.0.1", http_port};
    cli.set_connection_timeout(2s);
    cli.set_read_timeout(20s);
    httplib::Headers h;
    if (bearer != nullptr)
      h.emplace("Authorization", std::string{"Bearer "} + bearer);
    if (method == "GET")
      return cli.Get(path, h);
    if (method == "DELETE")
      return cli.Delete(path, h);
    return cli.Post(path, h, body, "application/json");
  }

  json call(const std::string& method, const std::string& path, const json& body = nullptr,
            int expect = 0) const {
    auto res = request(method, path, body.is_null() ? "" : body.dump());
    REQUIRE(res);
    if (expect != 0)
      CHECK_MESSAGE(res->status == expect, res->body);
    return json::parse(res->body);
  }

  bool wait_ready() {
    return wait_until(
      [&] {
        httplib::Client cli{"127.0.0.1", http_port};
        auto r = cli.Get("/ready");
        return r && r->status == 200;
      },
      20s);
  }

  std::string log_text() const {
    std::ifstream in{log};
    return {std::istreambuf_iterator<char>{in}, {}};
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(http_port);
  }

  int http_port;
  std::filesystem::path log;
  child_process process;
};

struct fixture {
  fixture() : s(topology()), results(*s.conn) {
  }

  static tp::topology_config topology() {
    auto cfg = test_topology();
    cfg.ack_wait = 2s;
    cfg.max_deliver = 3;
    return cfg;
  }

  void publish(const std::string& id, const std::string& type, std::string payload) {
    s.publish(task_of(id, type, std::move(payload)));
  }

  std::string state(const orchestrator_process& o, const std::string& id) {
    auto res = o.request("GET", "/v1/tasks/" + id);
    if (!res || res->status != 200)
      return res ? "http " + std::to_string(res->status) : "no answer";
    return json::parse(res->body).value("state", "");
  }

  single_server s;
  result_collector results;
  temp_dir dir{"smith-orchestrator-test-"};
};

// Processes whose command line is exactly `argv` (to prove no child survived).
int processes_running(const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv)
    want += a + '\0';
  int n = 0;
  auto* d = ::opendir("/proc");
  while (auto* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    std::ifstream in{std::string{"/proc/"} + e->d_name + "/cmdline"};
    std::string cmd{std::istreambuf_iterator<char>{in}, {}};
    n += cmd == want ? 1 : 0;
  }
  ::closedir(d);
  return n;
}

std::map<std::string, std::string> cli_env(const fixture& f) {
  return {{"SMITH_NATS_URL", f.s.server.url()}, {"SMITH_ROLES", "test"}};
}

} // namespace

TEST_CASE("the API refuses bad requests with the right 4xx and publishes nothing") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto status_of = [&](const std::string& body, const char* bearer = token) {
    auto res = o.request("POST", "/v1/tasks", body, bearer);
    REQUIRE(res);
    auto doc = json::parse(res->body, nullptr, false);
    CHECK_MESSAGE(doc.is_object(), res->body);
    CHECK_MESSAGE(doc.contains("error"), res->body);
    CHECK_MESSAGE(doc.contains("detail"), res->body);
    return std::pair{res->status, doc.value("error", "")};
  };
  auto good = json{{"role", "test"}, {"type", "echo"}, {"payload", "x"}}.dump();
  CHECK(status_of(good, nullptr) == std::pair{401, std::string{"unauthorized"}});
  CHECK(status_of(good, "wrong") == std::pair{401, std::string{"unauthorized"}});
  CHECK(status_of("{not json") == std::pair{400, std::string{"invalid_json"}});
  CHECK(status_of("[1,2]") == std::pair{400, std::string{"invalid_json"}});
  CHECK(status_of(R"({"type":"echo"})") == std::pair{400, std::string{"missing_field"}});
  CHECK(status_of(R"({"role":"nope","type":"echo"})")
        == std::pair{400, std::string{"unknown_role"}});
  CHECK(status_of(R"({"role":"test","type":"a.b"})")
        == std::pair{400, std::string{"invalid_field"}});
  CHECK(status_of(R"({"role":"test","type":"echo","payload_base64":"%%%"})")
        == std::pair{400, std::string{"invalid_field"}});
  CHECK(status_of(R"({"role":"test","type":"echo","delay_ms":"soon"})")
        == std::pair{400, std::string{"invalid_field"}});
  // Over the stream's message size (64 KiB in the test topology), under the body limit.
  auto big = json{{"role", "test"}, {"type", "echo"}, {"payload", std::string(70'000, 'x')}};
  CHECK(status_of(big.dump()) == std::pair{413, std::string{"payload_too_large"}});
  // Over the body limit (SMITH_API_MAX_BODY=200000): refused before it is read.
  CHECK(status_of(std::string(300'000, ' ')).first == 413);
  // A POST without a body and without Content-Length (curl -X POST) is read as empty.
  {
    auto sock = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(o.http_port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::string req = std::string{"POST /v1/tasks/ghost/cancel HTTP/1.1\r\nHost: x\r\n"}
                      + "Authorization: Bearer " + token + "\r\nConnection: close\r\n\r\n";
    REQUIRE(::write(sock, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
    std::string answer(4096, '\0');
    auto n = ::read(sock, answer.data(), answer.size());
    ::close(sock);
    REQUIRE(n > 0);
    CHECK_MESSAGE(answer.starts_with("HTTP/1.1 404"), answer);
  }
  auto res = o.request("GET", "/v1/nothing-here");
  REQUIRE(res);
  CHECK(res->status == 404);
  res = o.request("DELETE", "/v1/tasks");
  REQUIRE(res);
  CHECK(res->status == 405);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);
  // The probes stay open without a token.
  httplib::Client open{"127.0.0.1", o.http_port};
  CHECK(open.Get("/health")->status == 200);
  CHECK(open.Get("/metrics")->status == 200);
}

TEST_CASE("a submitted task is queued, deduplicated by id, run, and reported with its result") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto req = json{{"role", "test"}, {"type", "echo"}, {"payload", {{"n", 1}}}, {"id", "api-1"}};
  auto first = o.call("POST", "/v1/tasks", req, 202);
  CHECK(first["id"] == "api-1");
  CHECK(first["duplicate"] == false);
  auto again = o.call("POST", "/v1/tasks", req, 202);
  CHECK(again["duplicate"] == true);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 1);
  auto queued = o.call("GET", "/v1/tasks/api-1", nullptr, 200);
  CHECK(queued["state"] == "queued");
  CHECK(queued["role"] == "test");
  auto q = o.call("GET", "/v1/queues", nullptr, 200);
  REQUIRE(q["queues"].size() == 1);
  CHECK(q["queues"][0]["pending"] == 1);
  CHECK(q["queues"][0]["workers"] == 0);

  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  REQUIRE(wait_until([&] { return f.state(o, "api-1") == "succeeded"; }, 30s));
  auto done = o.call("GET", "/v1/tasks/api-1", nullptr, 200);
  CHECK(done["output"] == R"({"n":1})");
  CHECK(done["attempts"] == 1);
  CHECK(done["worker"].get<std::string>().find(':') != std::string::npos);
  q = o.call("GET", "/v1/queues", nullptr, 200);
  CHECK(q["queues"][0]["workers"] == 1);
  CHECK(o.request("GET", "/v1/tasks/never-submitted")->status == 404);
  // Binary payloads go as base64 and come back as base64.
  auto bin = o.call("POST", "/v1/tasks",
                    {{"role", "test"}, {"type", "echo"}, {"payload_base64", "AP8="}}, 202);
  auto id = bin["id"].get<std::string>();
  REQUIRE(wait_until([&] { return f.state(o, id) == "succeeded"; }, 30s));
  CHECK(o.call("GET", "/v1/tasks/" + id)["output_base64"] == "AP8=");
}

TEST_CASE("a task that used up MaxDeliver is dead-lettered once with two orchestrators, and "
          "a requeue runs it to success") {
  fixture f;
  orchestrator_process a{f.s.server.url(), f.dir};
  orchestrator_process b{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(a.wait_ready(), a.log_text());
  REQUIRE_MESSAGE(b.wait_ready(), b.log_text());
  // Nobody acks: a consumer takes each delivery and naks it until the server gives up.
  f.publish("doomed", "fail", R"({"fail_times":3,"mode":"error"})");
  auto consumer = f.s.consumer();
  int deliveries = 0;
  REQUIRE(wait_until(
    [&] {
      auto batch = consumer->fetch(1, 500ms);
      if (batch)
        for (auto& m : *batch) {
          ++deliveries;
          (void)m.nak();
        }
      return stream_msgs(*f.s.conn, "SMITH_DLQ") == 1 && stream_msgs(*f.s.conn, "SMITH_TASKS") == 0;
    },
    60s));
  CHECK(deliveries == 3);
  // Both replicas saw the advisory stream drain: nothing is left for a second copy.
  auto mover = must(tp::consumer_info(*f.s.conn, "SMITH_ADVISORIES", "dead-letter-mover"));
  REQUIRE(wait_until(
    [&] {
      mover = must(tp::consumer_info(*f.s.conn, "SMITH_ADVISORIES", "dead-letter-mover"));
      return mover.num_pending == 0 && mover.num_ack_pending == 0;
    },
    20s));
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 1);
  CHECK(f.state(a, "doomed") == "dead");
  auto dlq = a.call("GET", "/v1/dlq", nullptr, 200);
  REQUIRE(dlq["dead_letters"].size() == 1);
  auto entry = dlq["dead_letters"][0];
  CHECK(entry["id"] == "doomed");
  CHECK(entry["attempts"] == 3);
  CHECK(entry["reason"].get<std::string>().find("MaxDeliver") != std::string::npos);
  auto moved_by = [](const orchestrator_process& o) {
    return o.log_text().find("moved to the dead-letter stream") != std::string::npos ? 1 : 0;
  };
  CHECK(moved_by(a) + moved_by(b) == 1);

  // Requeued, the fail handler counts the three attempts it already had and succeeds.
  consumer.reset();
  auto seq = entry["seq"].get<std::uint64_t>();
  auto requeued = b.call("POST", "/v1/dlq/" + std::to_string(seq) + "/requeue", nullptr, 202);
  CHECK(requeued["id"] == "doomed");
  CHECK(b.request("POST", "/v1/dlq/" + std::to_string(seq) + "/requeue")->status == 404);
  CHECK(f.state(a, "doomed") == "queued"); // the old "dead" result no longer speaks for it
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "1"}};
  REQUIRE(w.wait_ready());
  REQUIRE_MESSAGE(wait_until([&] { return f.state(a, "doomed") == "succeeded"; }, 30s),
                  w.log_text());
  CHECK(a.call("GET", "/v1/tasks/doomed")["attempts"] == 4);
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
}

TEST_CASE("a worker's last failed attempt is dead-lettered once; DELETE removes it") {
  fixture f;
  orchestrator_process a{f.s.server.url(), f.dir};
  orchestrator_process b{f.s.server.url(), f.dir};
  REQUIRE(a.wait_ready());
  REQUIRE(b.wait_ready());
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  a.call("POST", "/v1/tasks",
         {{"role", "test"},
          {"type", "fail"},
          {"id", "hopeless"},
          {"payload", {{"fail_times", 100}, {"mode", "error"}}}},
         202);
  REQUIRE_MESSAGE(wait_until([&] { return f.state(b, "hopeless") == "dead"; }, 60s), w.log_text());
  REQUIRE(wait_until([&] { return stream_msgs(*f.s.conn, "SMITH_TASKS") == 0; }, 20s));
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 1);
  auto entry = a.call("GET", "/v1/dlq")["dead_letters"][0];
  auto seq = std::to_string(entry["seq"].get<std::uint64_t>());
  CHECK(a.call("DELETE", "/v1/dlq/" + seq, nullptr, 200)["deleted"] == entry["seq"]);
  CHECK(a.request("DELETE", "/v1/dlq/" + seq)->status == 404);
  CHECK(a.request("DELETE", "/v1/dlq/zero")->status == 400);
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
}

TEST_CASE("cancel: a queued task never runs, a running exec sleep is killed, both end cancelled") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE(o.wait_ready());
  o.call("POST", "/v1/tasks", {{"role", "test"}, {"type", "echo"}, {"id", "never"}}, 202);
  CHECK(o.call("POST", "/v1/tasks/never/cancel", nullptr, 202)["state"] == "cancelled");
  CHECK(f.state(o, "never") == "cancelled");
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);

  worker_process w{
    f.s.server.url(), f.dir, {"--concurrency", "2"}, {{"SMITH_EXEC_ALLOW", "sleep=/bin/sleep"}}};
  REQUIRE(w.wait_ready());
  const std::vector<std::string> sleeper{"sleep", "987"}; // argv[0] is the name given
  o.call(
    "POST", "/v1/tasks",
    {{"role", "test"}, {"type", "exec"}, {"id", "long"}, {"payload", {{"argv", {"sleep", "987"}}}}},
    202);
  REQUIRE_MESSAGE(wait_until([&] { return processes_running(sleeper) == 1; }, 20s), w.log_text());
  CHECK(f.state(o, "long") == "running");
  auto c = o.call("POST", "/v1/tasks/long/cancel", nullptr, 202);
  CHECK(c["state"] == "cancelling");
  REQUIRE_MESSAGE(wait_until([&] { return f.state(o, "long") == "cancelled"; }, 20s), w.log_text());
  CHECK_MESSAGE(processes_running(sleeper) == 0, w.log_text());
  CHECK(o.request("POST", "/v1/tasks/long/cancel")->status == 409);
  CHECK(o.request("POST", "/v1/tasks/ghost/cancel")->status == 404);
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
  // The cancelled queued task was never delivered: its only result is the cancellation.
  CHECK(f.results.results["never"].size() == 1);
}

TEST_CASE(
  "smith submit --wait prints the result and exits by the outcome, directly and via --api") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE(o.wait_ready());
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  auto env = cli_env(f);
  auto smith = smith_binary();

  auto ok = run_command(
    {smith, "submit", "--role", "test", "--type", "echo", "--payload", R"("hello")", "--wait"},
    env);
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  CHECK(ok.out == "hello");

  auto failed = run_command({smith, "submit", "--role", "test", "--type", "fail", "--payload",
                             R"({"fail_times":9,"mode":"error"})", "--wait", "--json"},
                            env);
  CHECK_MESSAGE(failed.exit_code == 1, failed.err << w.log_text() << o.log_text());
  auto doc = json::parse(failed.out);
  CHECK(doc["state"] == "dead");
  CHECK(doc["attempts"] == 3);

  auto watched = run_command({smith, "watch", doc["id"].get<std::string>()}, env);
  CHECK(watched.exit_code == 1);
  CHECK(watched.err.find(" dead (worker ") != std::string::npos);
  auto slow = run_command(
    {smith, "submit", "--role", "test", "--type", "sleep", "--payload", "300", "--id", "watch-me"},
    env);
  REQUIRE(slow.exit_code == 0);
  auto watch_ok =
    run_command({smith, "watch", "watch-me", "--api", o.url(), "--token", token}, env);
  CHECK_MESSAGE(watch_ok.exit_code == 0, watch_ok.err);
  CHECK(watch_ok.err.find("watch-me succeeded") != std::string::npos);
  CHECK(watch_ok.out == "slept 300 ms");

  auto piped = run_command({smith, "submit", "--role", "test", "--type", "hash", "-", "--wait",
                            "--api", o.url(), "--token", token},
                           env, "abc");
  CHECK_MESSAGE(piped.exit_code == 0, piped.err);
  CHECK(piped.out.find("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        != std::string::npos);

  auto bad = run_command({smith, "submit", "--role", "nope", "--type", "echo"}, env);
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.empty());
  CHECK(bad.err.find("role \"nope\" is not served here") != std::string::npos);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);

  auto denied = run_command({smith, "queues", "--api", o.url(), "--token", "wrong"}, env);
  CHECK(denied.exit_code == 2);
  CHECK(denied.err.find("bearer token") != std::string::npos);

  auto down = run_command({smith, "queues"}, {{"SMITH_NATS_URL", "nats://127.0.0.1:1"}});
  CHECK(down.exit_code == 3);
  CHECK(down.err.find("SMITH_NATS_URL") != std::string::npos);

  auto bad_json =
    run_command({smith, "submit", "--role", "test", "--type", "echo", "--payload", "{oops"}, env);
  CHECK(bad_json.exit_code == 2);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);
}

TEST_CASE("smith status, cancel, queues and dlq work against NATS and against the API") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE(o.wait_ready());
  auto env = cli_env(f);
  auto smith = smith_binary();
  for (bool via_api : {false, true}) {
    CAPTURE(via_api);
    std::vector<std::string> api;
    if (via_api)
      api = {"--api", o.url(), "--token", token};
    auto cmd = [&](std::vector<std::string> args) {
      args.insert(args.begin(), smith);
      args.insert(args.end(), api.begin(), api.end());
      return run_command(args, env);
    };
    auto id = std::string{via_api ? "cli-api" : "cli-nats"};
    auto sub = cmd({"submit", "--role", "test", "--type", "echo", "--payload", "1", "--id", id});
    REQUIRE_MESSAGE(sub.exit_code == 0, sub.err);
    CHECK(sub.out == id + "\n");
    auto st = cmd({"status", id, "--json"});
    REQUIRE_MESSAGE(st.exit_code == 0, st.err);
    CHECK(json::parse(st.out)["state"] == "queued");
    auto qs = cmd({"queues"});
    CHECK(qs.exit_code == 0);
    CHECK(qs.out.find("ROLE") != std::string::npos);
    CHECK(qs.out.find("test") != std::string::npos);
    auto cancel = cmd({"cancel", id});
    CHECK_MESSAGE(cancel.exit_code == 0, cancel.err);
    CHECK(cancel.out == id + " cancelled\n");
    auto again = cmd({"cancel", id});
    CHECK(again.exit_code == 2);
    auto missing = cmd({"status", "no-such-task"});
    CHECK(missing.exit_code == 2);
    CHECK(missing.err.find("no task \"no-such-task\"") != std::string::npos);
    auto list = cmd({"dlq", "list", "--json"});
    CHECK(list.exit_code == 0);
    CHECK(json::parse(list.out)["dead_letters"].empty());
    auto purge = cmd({"dlq", "purge", "--all"});
    CHECK(purge.exit_code == 0);
    CHECK(purge.out == "deleted 0\n");
    auto requeue = cmd({"dlq", "requeue", "424242"});
    CHECK(requeue.exit_code == 2);
  }
}

TEST_CASE("the orchestrator writes one EMF line per role and interval, with the _aws fields") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE(o.wait_ready());
  f.publish("depth-1", "echo", "x");
  f.publish("depth-2", "echo", "x");
  std::vector<json> lines;
  REQUIRE(wait_until(
    [&] {
      lines.clear();
      std::istringstream in{o.log_text()};
      for (std::string line; std::getline(in, line);)
        if (line.find("\"_aws\"") != std::string::npos)
          lines.push_back(json::parse(line)); // throws if a metric line is not JSON
      return !lines.empty() && lines.back()["QueueDepth"] == 2;
    },
    20s));
  auto& l = lines.back();
  CHECK(l["_aws"]["Timestamp"].is_number_integer());
  auto& m = l["_aws"]["CloudWatchMetrics"][0];
  CHECK(m["Namespace"] == "MisterSmith");
  CHECK(m["Dimensions"] == json::array({json::array({"Role"})}));
  std::vector<std::string> names;
  for (const auto& metric : m["Metrics"])
    names.push_back(metric["Name"].get<std::string>());
  CHECK(names == std::vector<std::string>{"QueueDepth", "InFlight", "BacklogPerWorker"});
  CHECK(l["Role"] == "test");
  CHECK(l["InFlight"] == 0);
  CHECK(l["BacklogPerWorker"] == 2.0);
  httplib::Client cli{"127.0.0.1", o.http_port};
  CHECK(cli.Get("/metrics")->body.find("smith_queue_pending{role=\"test\"} 2")
        != std::string::npos);
}

TEST_CASE("a handler's progress reaches smith.event.<id> and the task's status") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE(o.wait_ready());
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "1"}};
  REQUIRE(w.wait_ready());
  std::mutex mtx;
  std::vector<json> events;
  auto sub = must(tp::subscription::create(f.s.conn, "smith.event.slow", [&](auto& m) {
    std::lock_guard guard{mtx};
    events.push_back(json::parse(m.data));
  }));
  must(f.s.conn->flush(2s));
  o.call("POST", "/v1/tasks",
         {{"role", "test"}, {"type", "sleep"}, {"id", "slow"}, {"payload", 3000}}, 202);
  json seen;
  REQUIRE(wait_until(
    [&] {
      seen = o.call("GET", "/v1/tasks/slow");
      return seen.contains("progress");
    },
    20s));
  CHECK(seen["state"] == "running");
  CHECK(seen["progress"]["percent"].get<int>() >= 10);
  CHECK(seen["progress"]["percent"].get<int>() < 100);
  CHECK(seen["progress"]["message"].get<std::string>().starts_with("slept "));
  REQUIRE(wait_until([&] { return f.state(o, "slow") == "succeeded"; }, 20s));
  std::lock_guard guard{mtx};
  REQUIRE(events.size() >= 2);
  CHECK(events.front()["kind"] == "started");
  CHECK(events.front()["attempt"] == 1);
  CHECK(events.back()["kind"] == "progress");
  CHECK(events.back()["percent"] == 90);
}
