// Logs as one JSON object per line on stdout, flushed per line, so CloudWatch Logs Insights
// queries can parse fields (task_id, duration_ms, error_type) out of every line. The lines are
// made by transport/logging/ (the encoder and the named loggers); this sets them up for a
// service.
#pragma once

#include "transport/logging/level.hpp"

namespace smith::services::common {

/// The level SMITH_LOG_LEVEL names (info when unset or empty). Throws std::invalid_argument
/// naming the value and the accepted words when it names none.
transport::logging::level log_level_from_env();

/// Makes stdout line-buffered, sets every logger to SMITH_LOG_LEVEL (throws like
/// log_level_from_env) and routes spdlog's default logger into the same JSON lines.
void setup_json_logging();

} // namespace smith::services::common
