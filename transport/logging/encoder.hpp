// The one JSON encoder of log lines. Every string is escaped (a task id with a quote cannot
// forge a field), invalid UTF-8 becomes U+FFFD, and no key appears twice in a line:
//
//   {"ts":"2026-01-02T03:04:05.678Z","level":"INFO","logger":"worker","msg":"...",<fields>}
#pragma once

#include "transport/logging/field.hpp"
#include "transport/logging/level.hpp"

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace smith::transport::logging {

/// Appends `text` as a JSON string: `"` and `\` escaped, control characters (below U+0020,
/// and DEL) as \u00XX, every byte that does not belong to valid UTF-8 as \ufffd.
void append_json_string(std::string& out, std::string_view text);

/// Appends `v` as JSON; a double that is not finite is null.
void append_json_value(std::string& out, const value& v);

/// The keys of every line, which no field may take: ts, level, logger and msg.
bool is_reserved_key(std::string_view key) noexcept;

/// Appends the body of a line: `"msg":<msg>` and then `,"<key>":<value>` per field, in order.
/// A field without a value is left out. A field whose key is reserved or already written is
/// renamed `<key>_2` (or `_3`, ...), so nothing given is lost and no key is there twice.
void append_body(std::string& out, std::string_view msg, std::span<const field> fields);

/// Appends unix milliseconds as RFC 3339 in UTC with milliseconds: 2026-11-29T07:31:28.387Z.
void append_utc_ms(std::string& out, std::int64_t unix_ms);

/// Appends a whole line around a body from append_body, with its newline:
/// `{"ts":...,"level":...,"logger":...,<body>}\n`. The time is UTC with milliseconds.
void append_line(std::string& out, std::chrono::system_clock::time_point ts, level l,
                 std::string_view logger, std::string_view body);

} // namespace smith::transport::logging
