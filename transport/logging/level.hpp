// The levels of a log line, named in it as TRACE, DEBUG, INFO, WARN, ERROR or FATAL.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace smith::transport::logging {

/// In spdlog's order, so logger.cpp converts by value.
enum class level : std::uint8_t {
  trace,
  debug,
  info,
  warn,
  error,
  fatal,
  off, ///< for set_level only: no line at all
};

/// "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL" (and "OFF").
std::string_view to_string(level l) noexcept;

/// The level a setting names, in any case: trace, debug, info, warn (warning), error (err),
/// fatal (critical) or off. Nothing for another word.
std::optional<level> parse_level(std::string_view text) noexcept;

} // namespace smith::transport::logging
