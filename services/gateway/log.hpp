// The logger of `smith gateway`.
#pragma once

#include "transport/logging/logger.hpp"

namespace smith::services::gateway {

/// Lines carry "logger":"gateway".
inline transport::logging::logger& log() {
  static auto& named = transport::logging::get("gateway");
  return named;
}

} // namespace smith::services::gateway
