// The two processes run_child forks, as the child runner sees them (internal to it). The keeper
// is forked from the worker and never runs a program: it is the subreaper of the run, so every
// process the program starts stays its descendant, even one that leaves the process group with
// setsid(). The program is forked from the keeper, confined (no_new_privs, rlimits) and exec'd.
// Between fork and execve only async-signal-safe calls are made: nothing here allocates.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

namespace smith::actors::handlers::detail {

/// Which step of a child's setup failed; sent to the worker with errno.
enum class step : int { setpgid = 1, sigmask, dup2, chdir, execve, fork, no_new_privs, rlimit };

struct spawn_report {
  step failed;
  int err;
};

const char* step_name(step s);

/// One resource limit of the program, soft and hard (never above the keeper's own hard limit).
struct limit {
  int resource;
  rlim_t value;
};

/// Everything the children need, prepared before the fork.
struct launch {
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* cwd;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  int report_fd;
  int max_fd;
  pid_t parent; ///< the worker's pid, to notice it died before the keeper set PR_SET_PDEATHSIG
  const limit* limits;
  int limit_count;
};

/// The keeper's life: fork the program, wait for it (or for SIGTERM: kill it), kill its group
/// and then every process left below the keeper, and end as the program ended (its exit code,
/// or killed by its signal), so the worker reads the program's wait status as the keeper's.
[[noreturn]] void keeper_main(const launch& l) noexcept;

} // namespace smith::actors::handlers::detail
