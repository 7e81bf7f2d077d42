// `smith orchestrator`: the HTTP API, the dead-letter mover and the queue-depth reporter.
#pragma once

#include <CLI/CLI.hpp>

namespace smith::services::orchestrator {

void add_orchestrator_command(CLI::App& app);

} // namespace smith::services::orchestrator
