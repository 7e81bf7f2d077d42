// The body of POST /v1/schedules checked field by field, without NATS: the recurring task that
// task_service::schedule_create stores, or the api_error a client sees. Pure, so the fuzz
// target (tests/fuzz/schedule_body_fuzz.cpp) reaches every check.
#pragma once

#include "transport/config.hpp"
#include "transport/wire/envelope.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace smith::services::orchestrator {

/// A schedule request that passed every check.
struct schedule_request {
  std::string role;
  transport::wire::task task; ///< id (the schedule's name), type, payload, created_ms, meta
  std::string when;           ///< the Nats-Schedule header: "@every 5m", or the six cron fields
  std::string time_zone;      ///< IANA name; empty: UTC
};

/// {name, role, type, every | cron, time_zone?, payload | payload_base64, meta?} (docs/API.md),
/// checked against the topology at `now_ms`. Throws api_error (400, 409, 413).
schedule_request parse_schedule_request(const nlohmann::json& req,
                                        const transport::topology_config& topo,
                                        std::int64_t now_ms);

} // namespace smith::services::orchestrator
