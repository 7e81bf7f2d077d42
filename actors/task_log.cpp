#include "actors/task_log.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace smith::actors {

void log_task_end(const task_end& t) {
  nlohmann::ordered_json line{
    {"msg", "task_duration"},
    {"task_id", t.task_id},
    {"type", t.type},
    {"role", t.role},
    {"outcome", t.outcome},
    {"attempt", t.attempt},
    {"duration_ms", t.duration.count()},
  };
  bool failed = t.outcome != "succeeded";
  if (failed) {
    line["error_type"] = t.error_type.empty() ? "unknown" : t.error_type;
    line["error"] = t.error;
  }
  auto text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (t.outcome == "failed" || t.outcome == "dead")
    spdlog::error("{}", text);
  else if (failed)
    spdlog::warn("{}", text);
  else
    spdlog::info("{}", text);
}

} // namespace smith::actors
