// The wire records of docs/WIRE.md (task, result, dead letter) and their msgpack codec.
// Decoding is strict: a wrong version, a missing or mistyped field, or an oversize body is an
// error, never a crash. Unknown keys are skipped so that newer writers stay readable.
#pragma once

#include "transport/expected.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace smith::transport::wire {

/// The version every record carries in its `v` key.
inline constexpr std::uint32_t wire_version = 2;

/// Limits applied while decoding, so a hostile body cannot make us allocate without bound.
struct decode_limits {
  /// A body larger than this is refused before parsing (matches the stream's max_msg_size).
  std::size_t max_body_bytes = std::size_t{1024} * 1024;
  /// The longest id, type, role, worker or meta key/value accepted.
  std::size_t max_string_bytes = 1024;
  /// The most entries accepted in `meta`.
  std::size_t max_meta_entries = 64;
};

/// A unit of work, published to smith.task.<role>.<type>.
struct task {
  std::string id;                          ///< unique; also the Nats-Msg-Id (dedup)
  std::string type;                        ///< the handler that runs it
  std::string payload;                     ///< opaque bytes (msgpack bin)
  std::int64_t created_ms = 0;             ///< unix ms
  std::optional<std::int64_t> deadline_ms; ///< unix ms; past it the task fails
  std::map<std::string, std::string> meta; ///< free-form string pairs

  friend bool operator==(const task&, const task&) = default;
};

/// The outcome of one task, published to smith.result.<id>.
struct result {
  std::string id;
  bool ok = false;
  std::string output;               ///< opaque bytes (msgpack bin)
  std::optional<std::string> error; ///< set when ok is false
  std::uint32_t attempts = 0;       ///< the delivery count of the attempt that finished it
  std::string worker;               ///< the worker (host/process) that ran it
  std::int64_t started_ms = 0;
  std::int64_t finished_ms = 0;
  /// How a task that did not succeed ended, when it is more than "failed": "dead" (used up its
  /// attempts) or "cancelled". Absent otherwise; readers derive succeeded/failed from `ok`.
  std::optional<std::string> status;

  friend bool operator==(const result&, const result&) = default;
};

/// A task that will not be retried, kept in SMITH_DLQ with the reason.
struct dead_letter {
  std::string id; ///< the task id, empty when the body did not decode
  std::string role;
  std::string type;
  std::string reason;           ///< why it is dead, for an operator to read
  std::uint32_t attempts = 0;   ///< deliveries made
  std::string subject;          ///< the subject the task was published to
  std::uint64_t stream_seq = 0; ///< its sequence in SMITH_TASKS
  std::int64_t failed_ms = 0;
  std::string original; ///< the original body, byte for byte (msgpack bin)

  friend bool operator==(const dead_letter&, const dead_letter&) = default;
};

// -- encoding (appends to nothing: each call returns a fresh body) -------------------------------

std::string encode(const task& value);
std::string encode(const result& value);
std::string encode(const dead_letter& value);

// -- strict decoding -----------------------------------------------------------------------------

expected<task> decode_task(std::string_view body, const decode_limits& limits = {});
expected<result> decode_result(std::string_view body, const decode_limits& limits = {});
expected<dead_letter> decode_dead_letter(std::string_view body, const decode_limits& limits = {});

} // namespace smith::transport::wire
