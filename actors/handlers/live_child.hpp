// A long-lived program under the worker's control, started as run_child starts one (below a
// keeper that is its subreaper, in its own process group, no_new_privs, resource limits), with
// pipes to its stdin, stdout and stderr: a handler process (docs/HANDLER-PROTOCOL.md).
#pragma once

#include "actors/handlers/child_runner.hpp"
#include "actors/handlers/child_support.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace smith::actors::handlers {

class live_child {
public:
  /// Starts `spec` (its stdin_data, timeout and max_output_bytes are not used: the program runs
  /// until it exits or stop()). Nothing, with `error` set, when it could not start.
  static std::unique_ptr<live_child> start(const child_spec& spec, std::string& error);

  ~live_child();
  live_child(const live_child&) = delete;
  live_child& operator=(const live_child&) = delete;

  int stdin_fd() const noexcept {
    return in_.get();
  }
  int stdout_fd() const noexcept {
    return out_.get();
  }
  int stderr_fd() const noexcept {
    return err_.get();
  }
  pid_t pid() const noexcept {
    return pid_;
  }

  /// Writes all of `bytes` to the program's stdin; false once it cannot (it has gone).
  bool write(std::string_view bytes);
  /// End of input for the program.
  void close_stdin();
  /// True once the program (and everything it started) has ended.
  bool exited() const;
  /// Kills the program's group and every process below the keeper.
  void stop() const;
  /// Waits for the end (after stop() or on its own) and describes it: "exited with status 3",
  /// "killed by signal 9".
  std::string reap();

private:
  live_child() = default;

  detail::unique_fd in_;
  detail::unique_fd out_;
  detail::unique_fd err_;
  pid_t pid_ = 0;
  std::atomic<bool> reaped_{false}; ///< read by stop() from any thread
};

} // namespace smith::actors::handlers
