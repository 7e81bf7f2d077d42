// Reading and deleting single stored messages: a task's last result, the next queued task of
// a role, a dead letter by sequence. The orchestrator and the CLI read state from the streams
// themselves instead of keeping a copy (docs/ARCHITECTURE.md, "Task state").
#pragma once

#include "transport/expected.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smith::transport {

class connection;

/// A message as the stream stores it.
struct stored_message {
  std::string subject;
  std::string data;
  std::uint64_t sequence = 0;
  std::int64_t time_ms = 0; ///< when the stream stored it, unix ms
  std::vector<std::pair<std::string, std::string>> headers;

  /// The first value of header `key`, if present.
  std::optional<std::string_view> header(std::string_view key) const;
};

/// A stream's counters.
struct stream_state {
  std::uint64_t messages = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::int64_t consumers = 0;
};

expected<stream_state> stream_info(const connection& conn, const std::string& stream);

/// The last message stored on `subject` (direct get: any replica answers; the stream must
/// allow direct get). Nothing when the subject has no message.
expected<std::optional<stored_message>>
last_message(const connection& conn, const std::string& stream, const std::string& subject);

/// The first message at sequence `from` or later whose subject matches `filter` (wildcards
/// allowed; direct get). Nothing when there is none.
expected<std::optional<stored_message>> next_message(const connection& conn,
                                                     const std::string& stream, std::uint64_t from,
                                                     const std::string& filter);

/// The message at `seq` (a JetStream API call to the stream leader). Nothing when there is none.
expected<std::optional<stored_message>> message_at(const connection& conn,
                                                   const std::string& stream, std::uint64_t seq);

/// Deletes the message at `seq`. Returns false when there was no such message (already gone).
expected<bool> delete_message(const connection& conn, const std::string& stream, std::uint64_t seq);

/// Removes every message on `subject` (e.g. a task's old result before a requeue).
expected<void> purge_subject(const connection& conn, const std::string& stream,
                             const std::string& subject);

} // namespace smith::transport
