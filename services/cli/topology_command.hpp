// `smith topology apply|show`: declare the streams and consumers on a NATS server.
#pragma once

#include <CLI/CLI.hpp>

namespace smith::services::cli {

/// Adds the `topology` subcommand to `app`.
void add_topology_command(CLI::App& app);

} // namespace smith::services::cli
