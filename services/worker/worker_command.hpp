// `smith worker`: one role's worker process, and `smith health` for container health checks.
#pragma once

#include "actors/handler_registry.hpp"

#include <CLI/CLI.hpp>

namespace smith::services::worker {

void add_worker_command(CLI::App& app);

/// The main() of a user's own worker binary: the flags, environment, HTTP endpoints, signal
/// handling and supervision of `smith worker`, with the handlers in `registry` plus the
/// built-in ones (a type registered in `registry` wins over a built-in of the same name).
/// Call it first thing in main(), before any thread starts. Returns the exit code.
int worker_main(int argc, char** argv, actors::handler_registry registry);
void add_health_command(CLI::App& app);

} // namespace smith::services::worker
