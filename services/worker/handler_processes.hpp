// `smith worker --handler-process CMD`: the role's tasks run in a pool of long-lived handler
// processes (docs/HANDLER-PROTOCOL.md), each owned by a detached actor under a supervisor of its
// own, so a crashed process is started again with backoff and a crash loop past the restart
// intensity makes the worker unhealthy, as an actor's does.
#pragma once

#include "actors/handlers/process_pool.hpp"
#include "actors/supervisor.hpp"
#include "transport/config.hpp"

#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace smith::services::worker {

struct handler_process_options {
  std::string command; ///< SMITH_HANDLER_PROCESS; empty: the built-in handlers
  int processes = 0;   ///< SMITH_HANDLER_PROCESSES; 0: as many as --concurrency
};

void add_handler_process_options(CLI::App* cmd, handler_process_options& o);

/// The pool for `o` (nullptr when no command is set). Throws std::invalid_argument for a
/// command or count that cannot work. The processes get the worker's environment without the
/// NATS and API secrets, plus SMITH_HANDLER_PROTOCOL=1 and SMITH_ROLE.
std::shared_ptr<actors::handlers::process_pool>
make_handler_pool(const handler_process_options& o, const std::string& role, int concurrency);

/// A supervisor of one detached actor per process of `pool`.
actors::supervisor_config
handler_process_supervisor(const std::shared_ptr<actors::handlers::process_pool>& pool,
                           actors::restart_intensity intensity,
                           std::function<void(const std::string&)> on_give_up);

/// Why a secret given as a file cannot be used beside `exec_allow` or handler processes (their
/// programs run with the worker's uid and could read it), or nothing.
std::optional<std::string> secret_file_refused(const transport::connection_config& cc,
                                               const std::map<std::string, std::string>& allow,
                                               bool handler_processes);

} // namespace smith::services::worker
