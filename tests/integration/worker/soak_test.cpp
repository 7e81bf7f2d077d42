// The server killed (SIGKILL) and restarted on its store ten times while three workers serve
// 2,000 tasks: every task ends with exactly one stored result and nothing is left in the work
// queue. nats-server 2.9.10 left 56-214 acked tasks stranded in SMITH_TASKS in half such runs.
#include "worker_harness.hpp"

using namespace smith::testing;

TEST_CASE("ten server kills over 2,000 tasks with three workers: one result per task, an empty "
          "work queue") {
  auto cfg = server_fixture::worker_topology(); // AckWait 2 s: a lost delivery returns soon
  cfg.max_deliver = 10;                         // ten outages must not use up a task's attempts
  server_fixture f{"smith-soak-test-", cfg};
  std::map<std::string, std::string> env{{"SMITH_MAX_DELIVER", "10"}};
  std::vector<std::unique_ptr<worker_process>> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(std::make_unique<worker_process>(
      f.s.server.url(), f.dir, std::vector<std::string>{"--concurrency", "4"}, env));
    REQUIRE(workers.back()->wait_ready());
  }
  auto logs = [&] {
    std::string all;
    for (auto& w : workers)
      all += w->log_text();
    return all;
  };
  constexpr int rounds = 10;
  constexpr int per_round = 200;
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < per_round; ++i)
      f.publish("soak-" + std::to_string(round) + "-" + std::to_string(i), "sleep", "5");
    // Killed while this round's tasks run and their results are being stored.
    auto half = static_cast<std::uint64_t>(round * per_round + per_round / 2);
    REQUIRE_MESSAGE(
      wait_until([&] { return stream_counts(*f.s.conn, "SMITH_RESULTS").first >= half; }, 60s),
      logs());
    f.s.server.kill();
    f.s.server.start();
    REQUIRE(wait_until([&] { return f.s.conn->connected(); }, 20s));
  }
  constexpr auto total = static_cast<std::uint64_t>(rounds * per_round);
  REQUIRE_MESSAGE(wait_until(
                    [&] {
                      return stream_counts(*f.s.conn, "SMITH_RESULTS").second
                             >= static_cast<std::int64_t>(total);
                    },
                    120s),
                  logs());
  CHECK_MESSAGE(wait_until([&] { return stream_msgs(*f.s.conn, "SMITH_TASKS") == 0; }, 30s),
                "left in SMITH_TASKS: " << stream_msgs(*f.s.conn, "SMITH_TASKS"));
  auto [msgs, subjects] = stream_counts(*f.s.conn, "SMITH_RESULTS");
  CHECK(subjects == static_cast<std::int64_t>(total)); // a result for every task...
  CHECK(msgs == total);                                // ...and only one each
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
  for (auto& w : workers)
    CHECK(w->process.running());
}
