// The transport layer's logger: connections, pulls, publishes.
#pragma once

#include "transport/logging/logger.hpp"

namespace smith::transport {

/// Lines carry "logger":"transport".
inline logging::logger& log() {
  static auto& named = logging::get("transport");
  return named;
}

} // namespace smith::transport
