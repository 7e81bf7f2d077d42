// `smith worker`: one role's worker process, and `smith health` for container health checks.
#pragma once

#include "actors/handler_registry.hpp"

#include <CLI/CLI.hpp>

#include <csignal>

namespace smith::services {

void add_worker_command(CLI::App& app);

/// Blocks SIGTERM and SIGINT in the calling thread, and so in every thread started after it:
/// the worker receives them through sigwait alone. Call it before any thread exists.
void block_stop_signals();

/// {SIGTERM, SIGINT}: what stops a service (and what it waits for with sigwait).
sigset_t stop_signal_set();

/// The main() of a user's own worker binary: the flags, environment, HTTP endpoints, signal
/// handling and supervision of `smith worker`, with the handlers in `registry` plus the
/// built-in ones (a type registered in `registry` wins over a built-in of the same name).
/// Call it first thing in main(), before any thread starts. Returns the exit code.
int worker_main(int argc, char** argv, actors::handler_registry registry);
void add_health_command(CLI::App& app);

} // namespace smith::services
