// `smith tasks`, `smith workers`, `smith dlq show` and `smith queues purge` (docs/API.md).
#pragma once

#include <CLI/CLI.hpp>

namespace smith::services::cli {

/// Adds `tasks` and `workers` to `app`, `show` to its `dlq` and `purge` to its `queues`: call
/// after those two are added.
void add_list_commands(CLI::App& app);

} // namespace smith::services::cli
