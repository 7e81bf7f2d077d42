// The user's commands: submit, status, watch, cancel, queues, dlq, schedule. They talk to NATS
// directly by default (the same code the orchestrator runs), or to an orchestrator with --api URL.
#pragma once

#include <CLI/CLI.hpp>

namespace smith::services::cli {

void add_client_commands(CLI::App& app);

} // namespace smith::services::cli
