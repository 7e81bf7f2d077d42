// The roles of the seeds (compile, analyze, execute) as configurations of the built-in
// handlers: every role gets echo, sleep, fail and hash; exec gets a per-role allow-list.
#pragma once

#include "actors/handler_registry.hpp"
#include "actors/handlers/child_runner.hpp"

#include <map>
#include <string>

namespace smith::actors::handlers {

/// The exec allow-list of `role`: programs found on this machine among the role's defaults,
/// or exactly SMITH_EXEC_ALLOW ("name=/abs/path,...") when that is set.
std::map<std::string, std::string> exec_allow_list(const std::string& role,
                                                   const char* override_list);

/// The exec program's resource limits: the defaults of child_limits, or SMITH_EXEC_MAX_MEMORY_MB,
/// SMITH_EXEC_MAX_PROCS, SMITH_EXEC_MAX_FILES, SMITH_EXEC_MAX_FILE_MB when set. Throws
/// std::invalid_argument naming a variable that is not a whole number greater than 0.
child_limits exec_limits_from_env();

/// Registers the built-in handlers for `role`, except for types `reg` already has.
void add_builtin_handlers(actors::handler_registry& reg, const std::string& role,
                          const std::map<std::string, std::string>& exec_allow);

} // namespace smith::actors::handlers
