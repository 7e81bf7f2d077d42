// Submit: a task checked field by field, then published once with its id for dedup.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "services/orchestrator/task_ids.hpp"
#include "transport/clock.hpp"
#include "transport/topology.hpp"
#include "transport/wire/base64.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;
using std::chrono::milliseconds;

std::string task_service::payload_of(const json& req) const {
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
    payload = p.is_string() ? p.get<std::string>() : p.dump();
  }
  auto limit = static_cast<std::size_t>(topo_.max_msg_bytes) - 4096;
  if (payload.size() > limit)
    throw api_error(413, "payload_too_large",
                    "the payload has " + std::to_string(payload.size()) + " bytes; at most "
                      + std::to_string(limit)
                      + " fit in a task. Hint: store large inputs elsewhere and pass a reference,"
                        " or raise SMITH_MAX_MSG_BYTES");
  return payload;
}

std::map<std::string, std::string> task_service::meta_of(const json& req) {
  std::map<std::string, std::string> meta;
  if (!req.contains("meta"))
    return meta;
  if (!req["meta"].is_object())
    throw api_error(400, "invalid_field", "field `meta` must be an object of strings");
  for (const auto& [k, v] : req["meta"].items()) {
    if (!v.is_string())
      throw api_error(400, "invalid_field", "meta `" + k + "` must be a string");
    meta.emplace(k, v.get<std::string>());
  }
  return meta;
}

json task_service::submit(const json& req) {
  if (!req.is_object())
    throw api_error(400, "invalid_json", "the request body must be a JSON object");
  auto role = field_string(req, "role");
  check_token(role, "role");
  check_role(role);
  tp::wire::task t;
  t.type = field_string(req, "type");
  check_token(t.type, "type");
  t.id = req.contains("id") && !req["id"].is_null() ? field_string(req, "id") : new_task_id();
  check_token(t.id, "id");
  t.payload = payload_of(req);
  t.created_ms = tp::unix_ms();
  t.deadline_ms = field_int(req, "deadline_ms");
  auto delay = field_int(req, "delay_ms");
  if (delay && *delay < 0)
    throw api_error(400, "invalid_field", "field `delay_ms` must not be negative");
  if (t.deadline_ms && *t.deadline_ms <= t.created_ms)
    throw api_error(400, "invalid_field",
                    "field `deadline_ms` is unix time in ms and must be in the future");
  t.meta = meta_of(req);
  tp::task_headers extra;
  if (delay && *delay > 0) {
    if (!tp::has_schedules(topo_))
      throw api_error(409, "delay_unavailable",
                      "delayed tasks are held by the server as message schedules, which "
                      "nats-server refuses on a tasks stream that refuses new tasks when full: "
                      "SMITH_MAX_TASKS is set to "
                        + std::to_string(topo_.max_tasks)
                        + ". Hint: unset SMITH_MAX_TASKS to submit delayed tasks");
    extra.not_before_ms = t.created_ms + *delay;
  }
  auto msg = tp::task_message(names_, role, t, extra);
  if (!msg)
    throw api_error(400, "invalid_field", msg.error().message());
  auto ack = pub_->publish(*msg, api_timeout);
  if (!ack) {
    if (ack.error().code() == tp::errc::too_large)
      throw api_error(413, "payload_too_large", ack.error().message());
    fail(ack.error(), "publish the task");
  }
  return {{"id", t.id}, {"duplicate", ack->duplicate}, {"stream_seq", ack->sequence}};
}

} // namespace smith::services::orchestrator
