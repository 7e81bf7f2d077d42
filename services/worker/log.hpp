// The logger of `smith worker` and of a user's worker binary.
#pragma once

#include "transport/logging/logger.hpp"

namespace smith::services::worker {

/// Lines carry "logger":"worker".
inline transport::logging::logger& log() {
  static auto& named = transport::logging::get("worker");
  return named;
}

} // namespace smith::services::worker
