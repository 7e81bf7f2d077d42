// NATS header names of the wire format (docs/WIRE.md).
#pragma once

namespace smith::transport::wire::headers {

/// The task id; JetStream drops a second message with the same id inside the duplicate window.
inline constexpr const char* msg_id = "Nats-Msg-Id";
/// The task type, so a consumer can route without decoding the body.
inline constexpr const char* type = "Smith-Type";
/// Unix ms after which the task fails with "deadline exceeded".
inline constexpr const char* deadline = "Smith-Deadline";
/// Unix ms before which the task must not run (delayed tasks).
inline constexpr const char* not_before = "Smith-Not-Before";
/// W3C trace context, copied onto results and into logs.
inline constexpr const char* traceparent = "traceparent";

} // namespace smith::transport::wire::headers
