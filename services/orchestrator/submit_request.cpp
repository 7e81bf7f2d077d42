// Submit's checks, in the order a client meets them: the body, role, type, id, payload, times,
// meta, then whether a delay can be held.
#include "services/orchestrator/submit_request.hpp"

#include "services/common/json_depth.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "services/orchestrator/task_ids.hpp"
#include "transport/topology.hpp"
#include "transport/wire/base64.hpp"

#include <algorithm>
#include <utility>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;

namespace {

// An Idempotency-Key: 1 to 255 printable ASCII characters (RFC 9110 field-value text, without
// the controls a header could smuggle).
void check_idempotency_key(const std::string& key) {
  constexpr std::size_t max_key = 255;
  if (key.size() > max_key)
    throw api_error(400, "invalid_field",
                    "header Idempotency-Key has " + std::to_string(key.size()) + " bytes; at most "
                      + std::to_string(max_key));
  if (!std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x20 && c <= 0x7e; }))
    throw api_error(400, "invalid_field",
                    "header Idempotency-Key must be printable ASCII (space to `~`)");
}

} // namespace

std::string request_payload(const json& req, std::int32_t max_msg_bytes) {
  std::string payload;
  if (req.contains("payload") && req.contains("payload_base64"))
    throw api_error(400, "invalid_field", "give `payload` or `payload_base64`, not both");
  if (req.contains("payload_base64")) {
    auto bytes = tp::wire::base64_decode(field_string(req, "payload_base64"));
    if (!bytes)
      throw api_error(400, "invalid_field", "field `payload_base64` is not valid base64");
    payload = std::move(*bytes);
  } else if (req.contains("payload")) {
    // A string travels as its text; any other JSON value as its compact JSON.
    const auto& p = req["payload"];
    if (common::nests_deeper_than(p, max_payload_depth))
      throw api_error(400, "invalid_field",
                      "field `payload` nests arrays and objects more than "
                        + std::to_string(max_payload_depth)
                        + " levels deep. Hint: flatten it, or send the bytes as `payload_base64`");
    payload = p.is_string() ? p.get<std::string>() : p.dump();
  }
  // Room for the envelope and headers; the whole message is checked once built (submit). A
  // small SMITH_MAX_MSG_BYTES (1,024 is allowed) leaves half for the payload, never less than 0.
  auto max = static_cast<std::size_t>(max_msg_bytes);
  auto limit = max - std::min<std::size_t>(4096, max / 2);
  if (payload.size() > limit)
    throw api_error(413, "payload_too_large",
                    "the payload has " + std::to_string(payload.size()) + " bytes; at most "
                      + std::to_string(limit)
                      + " fit in a task. Hint: store large inputs elsewhere and pass a reference,"
                        " or raise SMITH_MAX_MSG_BYTES");
  return payload;
}

std::map<std::string, std::string> request_meta(const json& req) {
  std::map<std::string, std::string> meta;
  if (!req.contains("meta"))
    return meta;
  if (!req["meta"].is_object())
    throw api_error(400, "invalid_field", "field `meta` must be an object of strings");
  // The limits a worker decodes a task with: beyond them the task would only die there.
  const tp::wire::decode_limits limits;
  if (req["meta"].size() > limits.max_meta_entries)
    throw api_error(400, "invalid_field",
                    "field `meta` has " + std::to_string(req["meta"].size()) + " entries; at most "
                      + std::to_string(limits.max_meta_entries));
  for (const auto& [k, v] : req["meta"].items()) {
    if (!v.is_string())
      throw api_error(400, "invalid_field", "meta `" + k + "` must be a string");
    auto value = v.get<std::string>();
    if (k.size() > limits.max_string_bytes || value.size() > limits.max_string_bytes)
      throw api_error(400, "invalid_field",
                      "a key or value of `meta` is over " + std::to_string(limits.max_string_bytes)
                        + " bytes");
    meta.emplace(k, std::move(value));
  }
  return meta;
}

void check_known_role(const std::string& role, const std::vector<std::string>& roles) {
  if (std::find(roles.begin(), roles.end(), role) != roles.end())
    return;
  std::string known;
  for (const auto& r : roles)
    known += (known.empty() ? "" : ", ") + r;
  throw api_error(400, "unknown_role",
                  "role \"" + role + "\" is not served here; known roles: " + known
                    + ". Hint: a role becomes known when SMITH_ROLES lists it or a worker for it "
                      "starts (smith worker --role "
                    + role + " creates its consumer)");
}

submit_request parse_submit_request(const json& req, const std::string& idempotency_key,
                                    const tp::topology_config& topo, std::int64_t now_ms) {
  if (!req.is_object())
    throw api_error(400, "invalid_json", "the request body must be a JSON object");
  submit_request out;
  out.role = field_string(req, "role");
  check_token(out.role, "role");
  check_known_role(out.role, topo.roles);
  auto& t = out.task;
  t.type = field_string(req, "type");
  check_token(t.type, "type");
  if (req.contains("id") && !req["id"].is_null()) {
    t.id = field_string(req, "id"); // the id names the task: a key beside it changes nothing
  } else if (!idempotency_key.empty()) {
    check_idempotency_key(idempotency_key);
    t.id = id_for_idempotency_key(idempotency_key);
  } else {
    t.id = new_task_id();
  }
  check_token(t.id, "id");
  t.payload = request_payload(req, topo.max_msg_bytes);
  t.created_ms = now_ms;
  t.deadline_ms = field_int(req, "deadline_ms");
  auto delay = field_int(req, "delay_ms");
  if (delay && *delay < 0)
    throw api_error(400, "invalid_field", "field `delay_ms` must not be negative");
  // The due time is written as an RFC 3339 time: it must come before the year 10000.
  constexpr std::int64_t last_due_ms = 253'402'300'799'999; // 9999-12-31T23:59:59.999Z
  if (delay && *delay > last_due_ms - t.created_ms)
    throw api_error(400, "invalid_field",
                    "field `delay_ms` is too large: the task would be due after the year 9999");
  if (t.deadline_ms && *t.deadline_ms <= t.created_ms)
    throw api_error(400, "invalid_field",
                    "field `deadline_ms` is unix time in ms and must be in the future");
  t.meta = request_meta(req);
  if (delay && *delay > 0) {
    if (!tp::has_schedules(topo))
      throw api_error(409, "delay_unavailable",
                      "delayed tasks are held by the server as message schedules, which "
                      "nats-server refuses on a tasks stream that refuses new tasks when full: "
                      "SMITH_MAX_TASKS is set to "
                        + std::to_string(topo.max_tasks)
                        + ". Hint: unset SMITH_MAX_TASKS to submit delayed tasks");
    out.not_before_ms = t.created_ms + *delay;
  }
  return out;
}

} // namespace smith::services::orchestrator
