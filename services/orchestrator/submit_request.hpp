// The body of POST /v1/tasks checked field by field, without NATS: the task that
// task_service::submit publishes, or the api_error a client sees. Pure (no I/O, no connection),
// so the unit tests and the fuzz target (tests/fuzz/submit_body_fuzz.cpp) reach every check.
#pragma once

#include "transport/config.hpp"
#include "transport/wire/envelope.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smith::services::orchestrator {

/// A submit request that passed every check: what is published, and where.
struct submit_request {
  std::string role;
  transport::wire::task task; ///< id, type, payload, created_ms, deadline_ms, meta
  /// Set for a delayed task (`delay_ms` above zero): the server holds it until then.
  std::optional<std::int64_t> not_before_ms;
};

/// How deep a JSON `payload` may nest: its compact text is written by a recursive walk, and a
/// request body of a few hundred kilobytes of '[' would otherwise overflow the thread's stack.
inline constexpr std::size_t max_payload_depth = 256;

/// {role, type, payload | payload_base64, id?, deadline_ms?, delay_ms?, meta?} (docs/API.md),
/// checked against the topology's roles and limits at `now_ms`; `idempotency_key` is the
/// request's Idempotency-Key header (empty: none). Throws api_error (400, 409, 413).
submit_request parse_submit_request(const nlohmann::json& req, const std::string& idempotency_key,
                                    const transport::topology_config& topo, std::int64_t now_ms);

/// `payload` (a string travels as its text, any other JSON as its compact JSON) or
/// `payload_base64`: the bytes a task carries. 413 when they cannot fit in a task of
/// `max_msg_bytes` (SMITH_MAX_MSG_BYTES).
std::string request_payload(const nlohmann::json& req, std::int32_t max_msg_bytes);

/// `meta`: an object of strings, within the limits a worker decodes a task with.
std::map<std::string, std::string> request_meta(const nlohmann::json& req);

/// 400 `unknown_role` unless `role` is one of `roles` (task_service::known_roles).
void check_known_role(const std::string& role, const std::vector<std::string>& roles);

} // namespace smith::services::orchestrator
