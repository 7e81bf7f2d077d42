// The CLI against NATS and the API, the EMF lines, and progress events.
#include "../worker/worker_harness.hpp"
#include "support/command.hpp"
#include "transport/subscription.hpp"

#include <nlohmann/json.hpp>

#include "orchestrator_harness.hpp"
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace smith::testing;
using json = nlohmann::json;

using namespace orchestrator_testing;

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
  CHECK(ok.out == "hello\n");

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
  auto too_soon = run_command({smith, "submit", "--role", "test", "--type", "sleep", "--payload",
                               "2000", "--id", "too-soon", "--wait", "--timeout", "200ms"},
                              env);
  CHECK_MESSAGE(too_soon.exit_code == 4, too_soon.err); // not 3: nothing was unreachable
  CHECK(too_soon.err.find("did not end within the --timeout") != std::string::npos);
  CHECK(run_command({smith, "watch", "too-soon"}, env).exit_code == 0); // it went on
  auto watch_ok =
    run_command({smith, "watch", "watch-me", "--api", o.url(), "--token", token}, env);
  CHECK_MESSAGE(watch_ok.exit_code == 0, watch_ok.err);
  CHECK(watch_ok.err.find("watch-me succeeded") != std::string::npos);
  CHECK(watch_ok.out == "slept 300 ms\n");

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
    auto cmd = smith_cli(env, via_api, o.url());
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

TEST_CASE("usage errors and bad settings exit 2 with the reason; nothing aborts") {
  fixture f;
  auto env = cli_env(f);
  auto smith = smith_binary();
  auto two_tokens = f.dir.path() / "two-tokens";
  std::ofstream{two_tokens} << "one\ntwo\n";
  struct bad_case {
    std::vector<std::string> argv;
    std::map<std::string, std::string> extra;
    std::string says;
  };
  const std::vector<bad_case> cases{
    {{smith, "status"}, {}, "id is required"},
    {{smith, "submit", "--role"}, {}, "--role"},
    {{smith, "no-such-command"}, {}, "subcommand"},
    {{smith, "worker", "--role", "test"}, {{"SMITH_DRAIN_TIMEOUT", "abc"}}, "SMITH_DRAIN_TIMEOUT"},
    {{smith, "worker", "--role", "test"}, {{"SMITH_LOG_LEVEL", "loud"}}, "SMITH_LOG_LEVEL"},
    {{smith, "worker", "--role", "test"}, {{"SMITH_EXEC_ALLOW", "@@"}}, "SMITH_EXEC_ALLOW"},
    {{smith, "worker", "--role", "test"}, {{"SMITH_EXEC_MAX_PROCS", "0"}}, "SMITH_EXEC_MAX_PROCS"},
    {{smith, "orchestrator", "--http-host", "127.0.0.1", "--http-port", "0"},
     {{"SMITH_API_TOKEN_FILE", (f.dir.path() / "no-such-file").string()}},
     "SMITH_API_TOKEN_FILE"},
    {{smith, "orchestrator", "--http-host", "127.0.0.1", "--http-port", "0"},
     {{"SMITH_API_TOKEN_FILE", f.dir.path().string()}}, // a directory
     "cannot be read"},
    {{smith, "orchestrator", "--http-host", "127.0.0.1", "--http-port", "0"},
     {{"SMITH_API_TOKEN_FILE", two_tokens.string()}},
     "one token"},
    {{smith, "orchestrator", "--http-host", "127.0.0.1", "--http-port", "0"},
     {{"SMITH_API_TOKEN", "t"}, {"SMITH_API_TOKEN_FILE", two_tokens.string()}},
     "not both"},
  };
  for (const auto& c : cases) {
    auto run_env = env;
    for (const auto& [k, v] : c.extra)
      run_env[k] = v;
    auto r = run_command(c.argv, run_env, {}, 20s);
    auto all = r.out + r.err;
    CHECK_MESSAGE(r.exit_code == 2, c.argv[1] << ": " << all);
    CHECK_MESSAGE(all.find(c.says) != std::string::npos, c.argv[1] << ": " << all);
  }
  CHECK(run_command({smith, "--help"}, env).exit_code == 0);
  CHECK(run_command({smith, "--version"}, env).exit_code == 0);
}
