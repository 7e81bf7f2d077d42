// One JSON line per finished attempt, in the shape the operators' CloudWatch Logs Insights
// queries expect: the word task_duration, a string task_id, an integer duration_ms, and on
// failure level ERROR with a string error_type.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace smith::actors {

struct task_end {
  std::string task_id;
  std::string trace_id; ///< from the task's traceparent header; empty when it had none
  std::string type;
  std::string role;
  std::string outcome; ///< succeeded, retried, failed, dead, cancelled
  std::uint32_t attempt = 1;
  std::chrono::milliseconds duration{0};
  std::string error_type;
  std::string error;
};

/// `"msg":"task_duration"` at INFO for a success, WARN for an attempt that will be retried (or
/// was cancelled), ERROR for a task that failed or is dead.
void log_task_end(const task_end& t);

} // namespace smith::actors
