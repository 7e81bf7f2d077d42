// Fuzz target: the orchestrator's task tracker fed what anyone on NATS may publish to
// <prefix>.event.> and <prefix>.result.>. An input is a few messages (the first 16), one a line:
// "result <id>" is a result for <id>, any other line an event body (docs/WIRE.md §8). Proves
// that no bytes crash it, throw, leak or hit UB; that a result forgets its task; and that every
// task it tracks has an id, an attempt and a start time of at least zero and a progress within
// 0-100. A fresh tracker per input keeps it bounded.
#include "services/orchestrator/task_tracker.hpp"
#include "tests/fuzz/check.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace smith::services::orchestrator {

// The tracker's private parts: its entry points as its subscriptions call them, and its table.
struct task_tracker_feed {
  static std::unique_ptr<task_tracker> make() {
    return std::unique_ptr<task_tracker>{new task_tracker};
  }

  static void event(task_tracker& tracker, std::string_view data) {
    tracker.on_event(data);
  }

  static void result(task_tracker& tracker, std::string_view id) {
    tracker.on_result(id);
  }

  static void check(const task_tracker& tracker) {
    std::lock_guard guard{tracker.mtx_};
    FUZZ_CHECK(tracker.live_.size() <= task_tracker::max_entries);
    for (const auto& [id, t] : tracker.live_) {
      FUZZ_CHECK(!id.empty());
      FUZZ_CHECK(t.started_ms >= 0);
      FUZZ_CHECK(!t.percent || (*t.percent >= 0 && *t.percent <= 100));
    }
  }
};

} // namespace smith::services::orchestrator

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using smith::services::orchestrator::task_tracker_feed;
  constexpr int max_messages = 16;
  constexpr std::string_view result_prefix = "result ";
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto tracker = task_tracker_feed::make();
  for (int i = 0; i < max_messages && !input.empty(); ++i) {
    auto end = input.find('\n');
    auto line = input.substr(0, end);
    if (line.starts_with(result_prefix)) {
      auto id = line.substr(result_prefix.size());
      task_tracker_feed::result(*tracker, id);
      FUZZ_CHECK(!tracker->find(std::string{id}));
    } else {
      task_tracker_feed::event(*tracker, line);
    }
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  }
  task_tracker_feed::check(*tracker);
  return 0;
}
