// A child process owned by a test: started in its own process group, killed when the test
// process dies, and always reaped, so no server outlives the test that started it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace smith::testing {

class child_process {
public:
  // -- constructors, destructors, and assignment operators ------------------------------------

  child_process() = default;

  /// Kills (SIGKILL) and reaps the process if it still runs.
  ~child_process();

  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Starts `argv[0]`, an absolute path, with stdin from /dev/null and stdout and stderr
  /// appended to `output`. The child gets SIGKILL when the thread that called spawn() exits,
  /// so call it from a thread that lives as long as the process should (the test's main thread).
  /// Throws std::system_error if the output file cannot be opened or fork() fails.
  static child_process spawn(const std::vector<std::string>& argv,
                             const std::filesystem::path& output);

  // -- properties -----------------------------------------------------------------------------

  /// The process id, or -1 once the process has been reaped.
  pid_t pid() const noexcept {
    return reaped_ ? -1 : pid_;
  }

  /// Whether the process still runs; reaps it if it has exited.
  bool running();

  /// Whether every thread of the process is stopped (SIGSTOP): kill() returns before the
  /// threads of a busy process have all stopped, and until then it may still answer.
  bool stopped() const;

  /// How the process ended, e.g. "exited with status 1" or "killed by signal 9"; "running"
  /// while it runs and "not started" before spawn().
  std::string describe_exit();

  // -- stopping -------------------------------------------------------------------------------

  /// Sends SIGKILL and reaps the process. Does nothing if it is not running.
  void kill();

  /// Sends SIGTERM and waits up to `grace` for the process to exit, then kills it. Returns
  /// whether it exited within `grace`.
  bool terminate(std::chrono::milliseconds grace);

private:
  explicit child_process(pid_t pid) noexcept : pid_(pid) {
  }

  // Blocks until the process has exited and records how.
  void reap();

  pid_t pid_ = -1;
  int wait_status_ = 0;
  bool reaped_ = false;
};

} // namespace smith::testing
