// The logger of `smith orchestrator`: its API (audit lines), dead letters, queues.
#pragma once

#include "transport/logging/logger.hpp"

namespace smith::services::orchestrator {

/// Lines carry "logger":"orchestrator".
inline transport::logging::logger& log() {
  static auto& named = transport::logging::get("orchestrator");
  return named;
}

} // namespace smith::services::orchestrator
