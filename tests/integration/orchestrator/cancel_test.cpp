// Cancel between attempts: the worker holds nothing while it waits out a retry backoff, and
// the deleted task is never delivered again; the cancel still ends in a "cancelled" result.
#include "orchestrator_harness.hpp"

using namespace orchestrator_testing;

namespace {

// The attempts of `id` the worker ended with a retry (its task_duration lines).
int retried(const worker_process& w, const std::string& id) {
  std::istringstream in{w.log_text()};
  int n = 0;
  for (std::string line; std::getline(in, line);)
    n += line.find(R"("task_id":")" + id + '"') != std::string::npos
             && line.find(R"("outcome":"retried")") != std::string::npos
           ? 1
           : 0;
  return n;
}

} // namespace

TEST_CASE("a task cancelled during its retry backoff ends cancelled and never runs again") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  // Attempt 2 fails and waits 5 s (the second backoff step) before attempt 3. "slow" works
  // 300 ms per attempt, so the orchestrator saw it start (it is "running" there); "quick" ends
  // before any start event.
  for (auto [id, ms] : {std::pair{"slow", 300}, std::pair{"quick", 0}})
    o.call("POST", "/v1/tasks",
           {{"role", "test"},
            {"type", "fail"},
            {"id", id},
            {"payload", {{"fail_times", 5}, {"mode", "error"}, {"ms", ms}}}},
           202);
  for (const char* id : {"slow", "quick"}) {
    REQUIRE_MESSAGE(wait_until([&] { return retried(w, id) == 2; }, 20s), w.log_text());
    auto c = o.call("POST", std::string{"/v1/tasks/"} + id + "/cancel", nullptr, 202);
    CHECK(c["id"] == id);
  }
  for (const char* id : {"slow", "quick"}) {
    CHECK_MESSAGE(wait_until([&] { return f.state(o, id) == "cancelled"; }, 30s),
                  std::string{id} << " is " << f.state(o, id));
    auto r = f.results.get(id);
    REQUIRE(r);
    CHECK(r->worker == "orchestrator");
    std::lock_guard guard{f.results.mtx}; // one result published: nobody else stored one
    CHECK(f.results.results[id].size() == 1);
  }
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
  // No third attempt: past the 5 s backoff of both, neither ran again.
  CHECK(retried(w, "slow") == 2);
  CHECK(retried(w, "quick") == 2);
  CHECK(w.log_text().find(R"("outcome":"dead")") == std::string::npos);
}
