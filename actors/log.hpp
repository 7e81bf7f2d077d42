// The actor layer's logger: supervision, dispatch, the task_duration lines.
#pragma once

#include "transport/logging/logger.hpp"

namespace smith::actors {

/// Lines carry "logger":"actors".
inline transport::logging::logger& log() {
  static auto& named = transport::logging::get("actors");
  return named;
}

} // namespace smith::actors
