// A worker's answer to <prefix>.ping.workers ({"worker","role","concurrency","in_flight"},
// docs/WIRE.md), read by /v1/queues to count live workers per role and by /v1/workers to list
// them. Anyone on NATS can answer the ping, so any bytes must read as a reply or as nothing,
// never as an exception.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smith::services::orchestrator {

/// One worker as its ping reply describes it.
struct ping_reply {
  std::string worker;
  std::string role;
  std::int64_t concurrency = 0;
  std::int64_t in_flight = 0;
};

/// The reply when the body is a JSON object with a string `role` (what /v1/queues counts);
/// nothing otherwise. A `worker` that is not a string reads as "", a count that is not an
/// integer from 0 to 2^31 - 1 as 0.
std::optional<ping_reply> parse_ping_reply(std::string_view body);

/// The role a ping reply counts for; nothing when the body is not a JSON object with a string
/// `role`.
std::optional<std::string> ping_reply_role(std::string_view body);

} // namespace smith::services::orchestrator
