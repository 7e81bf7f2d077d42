// Runs one program as a child process under our control: fork + execve (no shell) below a
// keeper process that is its subreaper, its own process group, no_new_privs and resource
// limits, captured and capped output, a deadline and a cancel flag. Linux only (subreapers,
// /proc). exec_handler decides what may run; this file only runs it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace smith::actors::handlers {

/// Resource limits of the program (soft and hard; 0: the worker's own). Counted per process,
/// except `processes`, which counts every process and thread of the uid (RLIMIT_NPROC): in a
/// container the worker's threads and the programs, on a laptop everything its user runs, so
/// it is generous; it bounds a fork bomb, not a build.
struct child_limits {
  std::uint64_t address_space_bytes = std::uint64_t{4} << 30;
  std::uint64_t open_files = 1024;
  std::uint64_t processes = 4096;
  std::uint64_t file_size_bytes = std::uint64_t{1} << 30;
};

/// What to run and under which limits. Nothing here is checked against an allow-list: the
/// caller has done that.
struct child_spec {
  /// The executable; execve does no PATH search, so this should be absolute.
  std::string path;
  /// argv[0] included.
  std::vector<std::string> argv;
  /// The complete environment of the child, one "NAME=value" each.
  std::vector<std::string> env;
  /// The child's working directory.
  std::filesystem::path cwd;
  /// Fed to the child's stdin; without it the child reads /dev/null.
  std::optional<std::string> stdin_data;
  /// Where the stdin data is staged (an unlinked file); empty: the system temp directory.
  std::filesystem::path scratch_dir;
  /// From the fork; past it the whole process group is killed.
  std::chrono::milliseconds timeout{30000};
  /// Kept per stream; the rest is read and dropped so that the child never blocks on a pipe.
  std::size_t max_output_bytes = std::size_t{1024} * 1024;
  /// Polled while the child runs; when set, the whole process group is killed.
  const std::atomic<bool>* cancel = nullptr;
  /// How often the cancel flag and the child are checked while the pipes are quiet.
  std::chrono::milliseconds poll_interval{20};
  /// Besides these, CPU time is limited to the timeout rounded up to seconds, plus one.
  child_limits limits;
};

/// The first bytes of one output stream.
struct captured_stream {
  std::string bytes;
  /// The stream had more than max_output_bytes.
  bool truncated = false;
};

/// How a run ended. In every case that started a child, the child has been reaped and every
/// process it left (in its group, or having left the group with setsid) has been killed.
struct child_result {
  enum class ending : std::uint8_t {
    /// The child exited on its own; see exit_code.
    exited,
    /// The child was killed by a signal we did not send; see term_signal.
    signaled,
    /// The deadline passed and we killed the group.
    timed_out,
    /// The cancel flag was set and we killed the group.
    cancelled,
    /// The child could not exec the program (or enter cwd): a problem of the program or of
    /// the configuration, not of the moment. See error.
    spawn_failed,
    /// Pipes, fork or the stdin file failed in this process: a problem of this worker (often
    /// a limit on processes or descriptors), no child ran. See error.
    setup_failed,
  };

  ending how = ending::exited;
  /// From the wait status: set when the child exited.
  std::optional<int> exit_code;
  /// From the wait status: set when the child was killed by a signal (ours included).
  std::optional<int> term_signal;
  /// For spawn_failed and setup_failed: the step that failed and the errno text.
  std::string error;
  captured_stream out;
  captured_stream err;
  /// From the start of the setup to the reaping of the child.
  std::chrono::milliseconds duration{0};
  /// The keeper's pid (the program's parent); 0 when no child ran.
  pid_t pid = 0;
};

/// Runs the child to its end and returns how it ended. Blocks for up to spec.timeout (plus the
/// time to kill and reap): call it from a thread that may block, never from a CAF scheduler
/// thread. Safe to call from several threads at once.
child_result run_child(const child_spec& spec);

} // namespace smith::actors::handlers
