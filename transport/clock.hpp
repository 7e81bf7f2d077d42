// Wall-clock time as the wire format carries it: unix milliseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smith::transport {

inline std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Unix ms as RFC 3339 in UTC with milliseconds, as log lines write it: 2026-11-29T07:31:28.387Z.
std::string rfc3339_ms(std::int64_t unix_ms);

/// RFC 3339 in UTC ("Z", any fraction of a second) → unix ms; nullopt for anything else.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

} // namespace smith::transport
