// Submit: a task checked field by field (submit_request), then published once with its id for
// dedup.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "services/orchestrator/submit_request.hpp"
#include "transport/clock.hpp"
#include "transport/publisher.hpp"
#include "transport/wire/headers.hpp"
#include "transport/wire/trace_context.hpp"

#include <string_view>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;

json task_service::submit(const json& req, const std::string& idempotency_key,
                          const std::string& traceparent) {
  std::optional<tp::topology_config> learned;
  auto checked =
    parse_submit_request(req, idempotency_key, topology_for(req, learned), tp::unix_ms());
  const auto& t = checked.task;
  tp::task_headers extra;
  extra.not_before_ms = checked.not_before_ms;
  if (!traceparent.empty()) {
    if (!tp::wire::parse_traceparent(traceparent))
      throw api_error(400, "invalid_field",
                      "the traceparent header is not a W3C trace context "
                      "(00-<32 hex>-<16 hex>-<2 hex>, not all zero)");
    extra.traceparent = traceparent;
  }
  auto msg = tp::task_message(names_, checked.role, t, extra);
  if (!msg)
    throw api_error(400, "invalid_field", msg.error().message());
  // What the server counts against it: the body and the header block ("NATS/1.0\r\n", a
  // "key: value\r\n" line each, Nats-Msg-Id among them, and a closing "\r\n").
  auto bytes = msg->body.size() + 12;
  for (const auto& [k, v] : msg->headers)
    bytes += k.size() + v.size() + 4;
  if (!msg->msg_id.empty())
    bytes += std::string_view{tp::wire::headers::msg_id}.size() + msg->msg_id.size() + 4;
  if (bytes > static_cast<std::size_t>(topo_.max_msg_bytes))
    throw api_error(413, "payload_too_large",
                    "the task comes to " + std::to_string(bytes)
                      + " bytes with its headers; at most " + std::to_string(topo_.max_msg_bytes)
                      + " fit (SMITH_MAX_MSG_BYTES). Hint: store large inputs elsewhere and pass "
                        "a reference");
  auto ack = publish_for_request(
    *msg, t.id, "submit again with \"id\": \"" + t.id + "\"; that never queues it twice");
  if (!ack) {
    if (ack.error().code() == tp::errc::too_large)
      throw api_error(413, "payload_too_large", ack.error().message());
    fail(ack.error(), "publish the task");
  }
  return {{"id", t.id}, {"duplicate", ack->duplicate}, {"stream_seq", ack->sequence}};
}

} // namespace smith::services::orchestrator
