// Runs a command to its end, as a user's shell would: arguments, extra environment, optional
// stdin, and stdout, stderr and the exit status kept apart. For testing the CLI.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace smith::testing {

struct command_result {
  int exit_code = -1; ///< -1 when killed by a signal (including the timeout)
  std::string out;
  std::string err;
};

/// Runs `argv` (argv[0] an absolute path) with `env` added to this process's environment.
/// Kills it after `timeout`.
command_result run_command(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env = {},
                           const std::string& stdin_text = {},
                           std::chrono::milliseconds timeout = std::chrono::milliseconds{60'000});

} // namespace smith::testing
