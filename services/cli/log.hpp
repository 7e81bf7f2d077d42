// The logger of the task commands: the audit lines of the CLI without --api.
#pragma once

#include "transport/logging/logger.hpp"

namespace smith::services::cli {

/// Lines carry "logger":"cli".
inline transport::logging::logger& log() {
  static auto& named = transport::logging::get("cli");
  return named;
}

} // namespace smith::services::cli
