// Fuzz target: the orchestrator's task tracker fed what anyone on NATS may publish to
// <prefix>.event.> and <prefix>.result.>. An input is a few messages, one a line: "result <id>"
// is a result for <id>, any other line an event body (docs/WIRE.md §8). Proves that no bytes
// crash it, throw, leak or hit UB; that a tracked task's progress stays within 0-100; and that a
// result forgets its task. A fresh tracker per input keeps it bounded.
#include "services/orchestrator/task_tracker.hpp"
#include "tests/fuzz/check.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace smith::services::orchestrator {

// The tracker's private entry points, as its subscriptions call them.
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
};

} // namespace smith::services::orchestrator

namespace {

using smith::services::orchestrator::task_tracker_feed;

void feed(smith::services::orchestrator::task_tracker& tracker, std::string_view line) {
  constexpr std::string_view result_prefix = "result ";
  if (line.starts_with(result_prefix)) {
    auto id = line.substr(result_prefix.size());
    task_tracker_feed::result(tracker, id);
    FUZZ_CHECK(!tracker.find(std::string{id}));
    return;
  }
  task_tracker_feed::event(tracker, line);
  auto doc = nlohmann::json::parse(line, nullptr, false);
  if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string())
    return;
  if (auto live = tracker.find(doc["id"].get<std::string>()))
    FUZZ_CHECK(!live->percent || (*live->percent >= 0 && *live->percent <= 100));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto tracker = task_tracker_feed::make();
  while (!input.empty()) {
    auto end = input.find('\n');
    feed(*tracker, input.substr(0, end));
    if (end == std::string_view::npos)
      break;
    input.remove_prefix(end + 1);
  }
  FUZZ_CHECK(tracker->size() <= smith::services::orchestrator::task_tracker::max_entries);
  return 0;
}
