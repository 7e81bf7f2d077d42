// A worker's answer to <prefix>.ping.workers ({"worker","role","concurrency","in_flight"},
// docs/WIRE.md), read by /v1/queues to count live workers per role. Anyone on NATS can answer
// the ping, so any bytes must read as a role or as nothing, never as an exception.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smith::services::orchestrator {

/// The role a ping reply counts for; nothing when the body is not a JSON object with a string
/// `role`.
std::optional<std::string> ping_reply_role(std::string_view body);

} // namespace smith::services::orchestrator
