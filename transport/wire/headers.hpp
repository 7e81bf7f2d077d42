// NATS header names of the wire format (docs/WIRE.md).
#pragma once

namespace smith::transport::wire::headers {

/// The task id; JetStream drops a second message with the same id inside the duplicate window.
inline constexpr const char* msg_id = "Nats-Msg-Id";
/// The task type, so a consumer can route without decoding the body.
inline constexpr const char* type = "Smith-Type";
/// Unix ms after which the task fails with "deadline exceeded".
inline constexpr const char* deadline = "Smith-Deadline";
/// A message schedule (nats-server 2.12+, ADR-51): "@at <RFC 3339 time>" holds a delayed
/// task in the tasks stream until then.
inline constexpr const char* schedule = "Nats-Schedule";
/// Where the server publishes a scheduled message when it is due: the task subject.
inline constexpr const char* schedule_target = "Nats-Schedule-Target";
/// Set by the server on a message a schedule produced: the schedule's subject.
inline constexpr const char* scheduler = "Nats-Scheduler";
/// Set by the server on a message a schedule produced: its next due time (RFC 3339), or
/// "purge" for a one-shot schedule.
inline constexpr const char* schedule_next = "Nats-Schedule-Next";
/// The IANA time zone of a cron schedule ("Europe/Amsterdam"); UTC when absent.
inline constexpr const char* schedule_time_zone = "Nats-Schedule-Time-Zone";
/// W3C trace context, copied onto results and into logs.
inline constexpr const char* traceparent = "traceparent";

} // namespace smith::transport::wire::headers
