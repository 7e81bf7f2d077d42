// What /v1/workers and /v1/tasks read without NATS: worker ping replies from anyone, and the
// tracker's running tasks, newest first.
#include "services/orchestrator/ping_reply.hpp"
#include "services/orchestrator/task_tracker.hpp"

#include <doctest/doctest.h>

namespace smith::services::orchestrator {

// The tracker's entry points as its subscriptions call them (tests/fuzz/task_event_fuzz.cpp).
struct task_tracker_feed {
  static std::unique_ptr<task_tracker> make() {
    return std::unique_ptr<task_tracker>{new task_tracker};
  }

  static void started(task_tracker& t, const std::string& id, const std::string& role,
                      std::int64_t ts_ms) {
    t.on_event(R"({"kind":"started","id":")" + id + R"(","role":")" + role
               + R"(","type":"echo","worker":"vm:1","attempt":1,"ts_ms":)" + std::to_string(ts_ms)
               + "}");
  }

  static void result(task_tracker& t, std::string_view id) {
    t.on_result(id);
  }
};

} // namespace smith::services::orchestrator

namespace orch = smith::services::orchestrator;

TEST_CASE("a ping reply is a worker when its role is a string; other fields read safely") {
  auto w =
    orch::parse_ping_reply(R"({"worker":"vm:1","role":"execute","concurrency":4,"in_flight":2})");
  REQUIRE(w);
  CHECK(w->worker == "vm:1");
  CHECK(w->role == "execute");
  CHECK(w->concurrency == 4);
  CHECK(w->in_flight == 2);
  auto odd = orch::parse_ping_reply(
    R"({"worker":["x"],"role":"execute","concurrency":-1,"in_flight":99999999999})");
  REQUIRE(odd);
  CHECK(odd->worker.empty());
  CHECK(odd->concurrency == 0);
  CHECK(odd->in_flight == 0);
  CHECK(orch::parse_ping_reply(R"({"role":"r","concurrency":1.5})")->concurrency == 0);
  CHECK_FALSE(orch::parse_ping_reply(R"({"worker":"vm:1"})"));
  CHECK_FALSE(orch::parse_ping_reply(R"({"role":7})"));
  CHECK_FALSE(orch::parse_ping_reply("not json"));
  CHECK_FALSE(orch::parse_ping_reply(R"(["role","execute"])"));
}

TEST_CASE("the tracker lists running tasks last started first, by role, at most as many as "
          "asked") {
  using feed = orch::task_tracker_feed;
  auto t = feed::make();
  feed::started(*t, "a1", "a", 1000);
  feed::started(*t, "b1", "b", 3000);
  feed::started(*t, "a2", "a", 2000);
  feed::started(*t, "a3", "a", 2000); // same start: the larger id first
  auto ids = [](const auto& list) {
    std::vector<std::string> out;
    for (const auto& [id, task] : list)
      out.push_back(id);
    return out;
  };
  CHECK(ids(t->running("", 10)) == std::vector<std::string>{"b1", "a3", "a2", "a1"});
  CHECK(ids(t->running("a", 2)) == std::vector<std::string>{"a3", "a2"});
  CHECK(t->running("c", 10).empty());
  CHECK(t->running("", 0).empty());
  auto first = t->running("b", 1).at(0).second;
  CHECK(first.role == "b");
  CHECK(first.worker == "vm:1");
  CHECK(first.started_ms == 3000);
  feed::result(*t, "a3");
  CHECK(ids(t->running("a", 10)) == std::vector<std::string>{"a2", "a1"});
}
