// The built-in "exec" task type: runs one allow-listed program, without a shell, in a fresh
// temp directory with a scrubbed environment, and returns its exit status and output as JSON.
#pragma once

#include "actors/handler.hpp"
#include "actors/handlers/child_runner.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace smith::actors::handlers {

/// What the exec handler of one role may run, and within which limits.
struct exec_config {
  /// The programs a task may run: the name a payload gives as argv[0] -> the absolute path of
  /// the executable. A name that is not here is refused and nothing runs.
  std::map<std::string, std::string> allow;
  /// Used when a payload gives no timeout_ms.
  std::chrono::milliseconds timeout{30000};
  /// A payload's timeout_ms is capped at this.
  std::chrono::milliseconds max_timeout{std::chrono::minutes{10}};
  /// Kept per stream (stdout, stderr); the rest is read and dropped, and the stream is marked
  /// truncated.
  std::size_t max_output_bytes = std::size_t{1024} * 1024;
  /// Variables passed through from the worker's own environment (read once, when the handler
  /// is made). Every other variable of the worker is withheld.
  std::vector<std::string> keep_env;
  /// Variables a payload may set in its "env" object; any other name is refused.
  std::vector<std::string> env_allow;
  /// Where each run's temp directory is made; empty: the system temp directory ($TMPDIR).
  std::filesystem::path work_root;
  /// The program's resource limits; its CPU time is also capped by its timeout.
  child_limits limits;
};

/// Makes the exec handler. Throws std::invalid_argument at start-up when the config cannot
/// work (a relative path in `allow`, a timeout that is not positive or exceeds max_timeout, a
/// bad variable name, a work_root that is not a directory); std::filesystem::filesystem_error
/// when work_root is empty and the system has no usable temp directory.
///
/// Payload (JSON object; an unknown key is refused so that a typo is not silently ignored):
///   {"argv": ["program", "arg1", ...],  required, strings, argv[0] a name from `allow`
///    "timeout_ms": 5000,                optional positive integer, capped at max_timeout
///    "stdin": "text",                   optional; without it stdin is /dev/null
///    "env": {"NAME": "value"}}          optional; names from env_allow only
///
/// Output (JSON object, also attached to failures that ran the program):
///   {"exit_code": 0 or null, "signal": null or 9, "stdout": "...", "stderr": "...",
///    "stdout_truncated": false, "stderr_truncated": false, "duration_ms": 12}
/// stdout and stderr are UTF-8 text: invalid bytes become U+FFFD. A program whose output is
/// binary should encode it itself (e.g. base64) or write a file a later task can fetch.
///
/// The child's environment is PATH=/usr/bin:/bin, LANG=C.UTF-8, HOME and TMPDIR set to its temp
/// directory, then keep_env, then the payload's env. It runs with no_new_privs and `limits`,
/// below a keeper process that is its subreaper: when it exits, times out or is cancelled, its
/// process group and every process it started (even one that called setsid) are killed, so no
/// descendant outlives the task.
///
/// Outcomes (error_type): exit 0 -> success; non-zero exit -> failure "exit_code"; killed by
/// a signal -> failure "signal"; timeout -> retry_later "timeout" (a less loaded worker may
/// make it); cancel -> failure "cancelled"; bad payload -> failure "bad_payload"; program or
/// variable not allowed -> failure "not_allowed"; exec failed -> failure "spawn_failed";
/// no temp dir, pipe or process on this worker -> retry_later "resources".
///
/// The handler blocks for as long as the program runs: run it on a thread that may block.
handler_fn make_exec_handler(exec_config config);

} // namespace smith::actors::handlers
