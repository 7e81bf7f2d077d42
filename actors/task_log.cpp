#include "actors/task_log.hpp"

#include "actors/log.hpp"

#include <optional>
#include <string_view>

namespace smith::actors {

void log_task_end(const task_end& t) {
  namespace logging = transport::logging;
  bool failed = t.outcome != "succeeded";
  auto lvl = t.outcome == "failed" || t.outcome == "dead" ? logging::level::error
             : failed                                     ? logging::level::warn
                                                          : logging::level::info;
  if (!log().enabled(lvl))
    return;
  auto when_failed = [&](std::string_view text) {
    return failed ? std::optional<std::string_view>{text} : std::nullopt;
  };
  log().write_gathered(
    lvl, "task_duration",
    {{"task_id", t.task_id},
     {"trace_id", t.trace_id.empty() ? std::nullopt : std::optional<std::string_view>{t.trace_id}},
     {"type", t.type},
     {"role", t.role},
     {"outcome", t.outcome},
     {"attempt", t.attempt},
     {"duration_ms", t.duration.count()},
     {"error_type", when_failed(t.error_type.empty() ? std::string_view{"unknown"} : t.error_type)},
     {"error", when_failed(t.error)}});
}

} // namespace smith::actors
