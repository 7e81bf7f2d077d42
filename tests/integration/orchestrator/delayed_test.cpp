// Delayed tasks are message schedules held by the server (docs/WIRE.md §2.1): they take no slot
// of the consumer, can be cancelled, survive a server restart and run once.
#include "orchestrator_harness.hpp"

#include "transport/clock.hpp"
#include "transport/pull_consumer.hpp"

using namespace orchestrator_testing;

namespace {

std::size_t runs_of(const worker_process& w, const std::string& id) {
  // One task_duration line per attempt that ran or ended in the worker.
  auto text = w.log_text();
  std::size_t n = 0;
  for (auto at = text.find("\"task_id\":\"" + id + "\""); at != std::string::npos;
       at = text.find("\"task_id\":\"" + id + "\"", at + 1))
    n += text.rfind("task_duration", at) > text.rfind('\n', at) ? 1 : 0;
  return n;
}

} // namespace

TEST_CASE("delayed tasks wait in the server: with MaxAckPending 3, ten of them leave the role "
          "free, and a cancelled one never runs") {
  auto cfg = fixture::worker_topology();
  cfg.max_ack_pending = 3;
  fixture f{cfg};
  orchestrator_process o{f.s.server.url(), f.dir, {{"SMITH_MAX_ACK_PENDING", "3"}}};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());

  auto before = tp::unix_ms();
  for (int i = 0; i < 10; ++i)
    o.call("POST", "/v1/tasks",
           {{"role", "test"},
            {"type", "echo"},
            {"id", "later-" + std::to_string(i)},
            {"delay_ms", 60'000}},
           202);
  auto held = o.call("GET", "/v1/tasks/later-3", nullptr, 200);
  CHECK(held["state"] == "scheduled");
  CHECK(held["role"] == "test");
  CHECK(held["type"] == "echo");
  CHECK(held["due_ms"].get<std::int64_t>() >= before + 60'000);
  CHECK(held["due"].get<std::string>().ends_with("Z"));

  o.call("POST", "/v1/tasks", {{"role", "test"}, {"type", "echo"}, {"id", "now-1"}}, 202);
  REQUIRE_MESSAGE(wait_until([&] { return f.state(o, "now-1") == "succeeded"; }, 10s),
                  w.log_text());
  // Nothing of the ten is pending or in flight: the ack of now-1 follows its stored result.
  CHECK(wait_until(
    [&] {
      auto ci = must(tp::consumer_info(*f.s.conn, "SMITH_TASKS", "role-test"));
      return ci.num_ack_pending == 0 && ci.num_pending == 0;
    },
    10s));
  CHECK(f.state(o, "later-9") == "scheduled");

  // Cancelled while it waits: the schedule is gone and its result says cancelled.
  CHECK(o.call("POST", "/v1/tasks/later-0/cancel", nullptr, 202)["state"] == "cancelled");
  CHECK(f.state(o, "later-0") == "cancelled");
  CHECK(o.request("POST", "/v1/tasks/later-0/cancel")->status == 409);

  // One due in a moment, cancelled, and one due just after it: once the second has run, the
  // first's time has passed too, and it never ran.
  o.call("POST", "/v1/tasks",
         {{"role", "test"}, {"type", "echo"}, {"id", "soon"}, {"delay_ms", 1'000}}, 202);
  o.call("POST", "/v1/tasks",
         {{"role", "test"}, {"type", "echo"}, {"id", "marker"}, {"delay_ms", 1'500}}, 202);
  CHECK(o.call("POST", "/v1/tasks/soon/cancel", nullptr, 202)["state"] == "cancelled");
  REQUIRE_MESSAGE(wait_until([&] { return f.state(o, "marker") == "succeeded"; }, 20s),
                  w.log_text());
  CHECK(f.state(o, "soon") == "cancelled");
  // The marker's line follows its stored result; by then a run of "soon" would have its own.
  CHECK(wait_until([&] { return runs_of(w, "marker") == 1; }, 10s));
  CHECK(runs_of(w, "soon") == 0);
  CHECK(f.results.results["soon"].size() == 1);
}

TEST_CASE("a delayed task survives a server restart and runs once when due") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  auto due = tp::unix_ms() + 3'000;
  o.call("POST", "/v1/tasks",
         {{"role", "test"}, {"type", "echo"}, {"id", "kept"}, {"delay_ms", 3'000}}, 202);
  CHECK(f.state(o, "kept") == "scheduled");
  REQUIRE(f.s.server.stop());
  f.s.server.start();
  REQUIRE_MESSAGE(wait_until([&] { return f.state(o, "kept") == "succeeded"; }, 30s), w.log_text());
  auto done = o.call("GET", "/v1/tasks/kept", nullptr, 200);
  CHECK(done["started_ms"].get<std::int64_t>() >= due);
  CHECK(done["attempts"] == 1);
  // Its log line and its ack follow the stored result.
  CHECK(wait_until(
    [&] { return runs_of(w, "kept") == 1 && stream_msgs(*f.s.conn, "SMITH_TASKS") == 0; }, 10s));
  CHECK(runs_of(w, "kept") == 1);
}

TEST_CASE("with SMITH_MAX_TASKS set the tasks stream holds no schedules, and a delayed submit "
          "is refused, changing nothing") {
  auto cfg = fixture::worker_topology();
  cfg.max_tasks = 100;
  fixture f{cfg};
  orchestrator_process o{f.s.server.url(), f.dir, {{"SMITH_MAX_TASKS", "100"}}};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto res =
    o.request("POST", "/v1/tasks",
              json{{"role", "test"}, {"type", "echo"}, {"id", "d"}, {"delay_ms", 5'000}}.dump());
  REQUIRE(res);
  CHECK(res->status == 409);
  CHECK(res->body.find("SMITH_MAX_TASKS") != std::string::npos);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);
  CHECK(o.call("POST", "/v1/tasks", {{"role", "test"}, {"type", "echo"}, {"id", "n"}}, 202)["id"]
        == "n");
}
