// GET /v1/tasks and `smith tasks`: recent tasks from the results stream, the tasks stream and
// the tracker, newest first, by role and state; GET /v1/workers and `smith workers`.
#include "orchestrator_harness.hpp"

using namespace orchestrator_testing;

namespace {

std::vector<std::string> ids_of(const json& list) {
  std::vector<std::string> out;
  for (const auto& t : list["tasks"])
    out.push_back(t["id"].get<std::string>());
  return out;
}

} // namespace

TEST_CASE("GET /v1/tasks lists recent tasks newest first, by role and state, each as status has "
          "it") {
  fixture f{test_and_idle()};
  orchestrator_process o{f.s.server.url(), f.dir, {{"SMITH_ROLES", "test,idle"}}};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  auto submit = [&](json body) { o.call("POST", "/v1/tasks", body, 202); };
  submit({{"role", "test"}, {"type", "echo"}, {"id", "l-ok"}, {"payload", "hi"}});
  REQUIRE(wait_until([&] { return f.state(o, "l-ok") == "succeeded"; }, 20s));
  submit({{"role", "test"},
          {"type", "fail"},
          {"id", "l-dead"},
          {"payload", {{"fail_times", 9}, {"mode", "error"}}}});
  REQUIRE(wait_until([&] { return f.state(o, "l-dead") == "dead"; }, 60s));
  submit({{"role", "idle"}, {"type", "echo"}, {"id", "l-queued"}, {"payload", "q"}});
  submit({{"role", "test"}, {"type", "echo"}, {"id", "l-later"}, {"delay_ms", 3'600'000}});
  submit({{"role", "test"}, {"type", "sleep"}, {"id", "l-running"}, {"payload", 20000}});
  // Running as the tracker knows it (worker, attempt), not only as delivered.
  REQUIRE(wait_until([&] { return o.call("GET", "/v1/tasks/l-running").contains("worker"); }, 20s));

  auto all = o.call("GET", "/v1/tasks", nullptr, 200);
  CHECK(ids_of(all)
        == std::vector<std::string>{"l-running", "l-later", "l-queued", "l-dead", "l-ok"});
  for (const auto& t : all["tasks"]) {
    CAPTURE(t.dump());
    // The same document as status, plus role and type.
    auto status = o.call("GET", "/v1/tasks/" + t["id"].get<std::string>(), nullptr, 200);
    for (const auto& [k, v] : status.items())
      if (k != "progress")
        CHECK(t[k] == v);
    CHECK(t["role"].is_string());
    CHECK(t["type"].is_string());
  }
  CHECK(all["tasks"][0]["type"] == "sleep");
  CHECK(all["tasks"][0]["worker"].is_string());
  CHECK(all["tasks"][3]["type"] == "fail"); // from the result's Smith-Type header
  CHECK(all["tasks"][4]["output"] == "hi");

  CHECK(ids_of(o.call("GET", "/v1/tasks?role=idle")) == std::vector<std::string>{"l-queued"});
  CHECK(ids_of(o.call("GET", "/v1/tasks?state=dead")) == std::vector<std::string>{"l-dead"});
  CHECK(ids_of(o.call("GET", "/v1/tasks?state=succeeded&role=test"))
        == std::vector<std::string>{"l-ok"});
  CHECK(ids_of(o.call("GET", "/v1/tasks?state=running")) == std::vector<std::string>{"l-running"});
  CHECK(ids_of(o.call("GET", "/v1/tasks?state=scheduled")) == std::vector<std::string>{"l-later"});
  CHECK(ids_of(o.call("GET", "/v1/tasks?state=queued")) == std::vector<std::string>{"l-queued"});
  CHECK(o.call("GET", "/v1/tasks?state=cancelled")["tasks"].empty());
  CHECK(ids_of(o.call("GET", "/v1/tasks?limit=2"))
        == std::vector<std::string>{"l-running", "l-later"});

  // Hostile filters: 400 with the reason, and nothing changed.
  auto before = stream_msgs(*f.s.conn, "SMITH_TASKS");
  struct refused {
    std::string query, error, says;
  };
  for (const auto& r : std::vector<refused>{
         {"state=bogus", "invalid_field", "is not one of scheduled, queued"},
         {"state=", "invalid_field", "is not one of"},
         {"role=nope", "unknown_role", "known roles: test, idle"},
         {"role=a.b", "invalid_field", "must be 1 to 1024 bytes"},
         {"role=", "invalid_field", "must be 1 to 1024 bytes"},
         {"limit=0", "invalid_field", "from 1 to 1000"},
         {"limit=1001", "invalid_field", "from 1 to 1000"},
         {"limit=-5", "invalid_field", "from 1 to 1000"},
         {"limit=abc", "invalid_field", "from 1 to 1000"},
         {"limit=99999999999999999999", "invalid_field", "from 1 to 1000"},
       }) {
    CAPTURE(r.query);
    auto res = o.request("GET", "/v1/tasks?" + r.query);
    REQUIRE(res);
    CHECK(res->status == 400);
    auto doc = json::parse(res->body);
    CHECK(doc["error"] == r.error);
    CHECK(doc["detail"].get<std::string>().find(r.says) != std::string::npos);
  }
  CHECK(o.request("DELETE", "/v1/tasks")->status == 405);
  CHECK(o.request("GET", "/v1/tasks", {}, "wrong")->status == 401);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == before);
  CHECK(f.state(o, "l-queued") == "queued");

  // The CLI, directly and through the API: the same tasks; a table without --json.
  auto env = cli_env(f);
  env["SMITH_ROLES"] = "test,idle";
  auto smith = smith_binary();
  for (bool via_api : {false, true}) {
    CAPTURE(via_api);
    auto cmd = smith_cli(env, via_api, o.url());
    auto dead = cmd({"tasks", "--state", "dead", "--json"});
    REQUIRE_MESSAGE(dead.exit_code == 0, dead.err);
    CHECK(json::parse(dead.out)["tasks"] == o.call("GET", "/v1/tasks?state=dead")["tasks"]);
    auto idle = cmd({"tasks", "--role", "idle"});
    REQUIRE_MESSAGE(idle.exit_code == 0, idle.err);
    CHECK(
      idle.out.starts_with("ID        STATE   ROLE  TYPE  WHEN\nl-queued  queued  idle  echo  "));
    auto mixed = cmd({"tasks", "--limit", "3", "--json"});
    REQUIRE_MESSAGE(mixed.exit_code == 0, mixed.err);
    CHECK(ids_of(json::parse(mixed.out))
          == std::vector<std::string>{"l-running", "l-later", "l-queued"});
    for (const auto& bad : std::vector<std::vector<std::string>>{{"tasks", "--state", "bogus"},
                                                                 {"tasks", "--role", "nope"},
                                                                 {"tasks", "--limit", "0"},
                                                                 {"tasks", "--limit", "1001"},
                                                                 {"tasks", "--limit", "many"}}) {
      auto r = cmd(bad);
      CHECK_MESSAGE(r.exit_code == 2, bad[1] << " " << bad[2] << ": " << r.err);
      CHECK(r.out.empty());
    }
  }
  auto help = run_command({smith, "tasks", "--help"}, env);
  CHECK(help.out.find("Example:\n  smith tasks --role execute --state failed")
        != std::string::npos);
}

TEST_CASE("GET /v1/workers and smith workers list each live worker with its role and load") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  CHECK(o.call("GET", "/v1/workers", nullptr, 200) == json{{"workers", json::array()}});
  worker_process a{f.s.server.url(), f.dir, {"--concurrency", "3"}};
  worker_process b{f.s.server.url(), f.dir, {"--concurrency", "1"}};
  REQUIRE(a.wait_ready());
  REQUIRE(b.wait_ready());
  o.call("POST", "/v1/tasks",
         {{"role", "test"}, {"type", "sleep"}, {"id", "w-busy"}, {"payload", 20000}}, 202);
  REQUIRE(wait_until([&] { return f.state(o, "w-busy") == "running"; }, 20s));
  json doc;
  REQUIRE(wait_until(
    [&] {
      doc = o.call("GET", "/v1/workers", nullptr, 200);
      return doc["workers"].size() == 2;
    },
    20s));
  std::int64_t in_flight = 0;
  std::vector<std::int64_t> concurrency;
  std::vector<std::string> names;
  for (const auto& w : doc["workers"]) {
    CHECK(w["role"] == "test");
    names.push_back(w["worker"].get<std::string>());
    concurrency.push_back(w["concurrency"].get<std::int64_t>());
    in_flight += w["in_flight"].get<std::int64_t>();
  }
  CHECK(std::is_sorted(names.begin(), names.end()));
  std::sort(concurrency.begin(), concurrency.end());
  CHECK(concurrency == std::vector<std::int64_t>{1, 3});
  CHECK(in_flight == 1);
  // Anyone on NATS can answer the ping: a reply without a string role is not a worker.
  auto liar = must(tp::subscription::create(f.s.conn, "smith.ping.workers", [&](auto& m) {
    (void)tp::publish_core(*f.s.conn, std::string{m.reply}, R"({"role":7,"worker":"x"})");
  }));
  must(f.s.conn->flush(2s));
  CHECK(o.call("GET", "/v1/workers")["workers"].size() == 2);
  CHECK(o.request("POST", "/v1/workers")->status == 405);

  auto env = cli_env(f);
  auto smith = smith_binary();
  auto table = run_command({smith, "workers"}, env);
  REQUIRE_MESSAGE(table.exit_code == 0, table.err);
  CHECK(table.out.find("WORKER") == 0);
  CHECK(table.out.find("ROLE  CONCURRENCY  IN_FLIGHT\n") != std::string::npos);
  CHECK(std::count(table.out.begin(), table.out.end(), '\n') == 3);
  auto api = run_command({smith, "workers", "--json", "--api", o.url(), "--token", token}, env);
  REQUIRE_MESSAGE(api.exit_code == 0, api.err);
  CHECK(json::parse(api.out)["workers"].size() == 2);
}

TEST_CASE("a long queue is listed newest first across the windows it is read back in") {
  fixture f{test_and_idle()};
  orchestrator_process o{f.s.server.url(), f.dir, {{"SMITH_ROLES", "test,idle"}}};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  std::vector<std::string> newest_first;
  for (int i = 0; i < 300; ++i) {
    auto id = "q-" + std::to_string(i);
    f.s.publish(task_of(id, "echo", "x"), "idle");
    newest_first.insert(newest_first.begin(), id);
    if (i % 3 == 0) // other subjects in between
      f.s.publish(task_of("o-" + std::to_string(i), "echo", "x"), "test");
  }
  CHECK(ids_of(o.call("GET", "/v1/tasks?role=idle&limit=1000", nullptr, 200)) == newest_first);
  CHECK(ids_of(o.call("GET", "/v1/tasks?role=idle&limit=5"))
        == std::vector<std::string>(newest_first.begin(), newest_first.begin() + 5));
  CHECK(ids_of(o.call("GET", "/v1/tasks?state=queued&limit=1000")).size() == 400);
}
