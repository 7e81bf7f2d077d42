// Logs as one JSON object per line on stdout, flushed per line, so CloudWatch Logs Insights
// queries can parse fields (task_id, duration_ms, error_type) out of every line.
#pragma once

namespace smith::services::common {

/// Installs the JSON line format on spdlog's default logger (stdout, line-buffered).
void setup_json_logging();

} // namespace smith::services::common
