#include "actors/handlers/child_support.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <system_error>

#include <fcntl.h>
#include <sys/wait.h>

namespace smith::actors::handlers::detail {

/// strerror() is not thread-safe; this is.
std::string errno_text(int err) {
  return std::system_category().message(err);
}

/// Moves `fd` to a number >= 3 so that the child's dup2() onto 0, 1 and 2 cannot overwrite a
/// descriptor it still needs (a daemon started with stdin closed hands out fd 0 to pipe2).
unique_fd lift(unique_fd fd) {
  if (!fd || fd.get() >= 3)
    return fd;
  return unique_fd{::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3)};
}

/// Close-on-exec on both ends, so a child that another thread forks concurrently does not
/// keep our pipes open.
bool make_pipe(unique_fd& read_end, unique_fd& write_end) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0)
    return false;
  read_end = lift(unique_fd{fds[0]});
  write_end = lift(unique_fd{fds[1]});
  return read_end && write_end;
}

/// True once the keeper has ended (after the program and everything below it). WNOWAIT leaves
/// it a zombie until reap(): while it is one its pid cannot be reused, so stop() cannot hit a
/// stranger.
bool has_exited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD; // someone else reaped it (SIGCHLD ignored): nothing left to wait for
  return info.si_pid == pid;
}

/// Has the keeper kill the program, its group and every process left below the keeper.
void stop(pid_t keeper) {
  ::kill(keeper, SIGTERM);
}

/// The limits the program gets, in the form the keeper takes (0: not set).
std::vector<limit> limits_of(const child_limits& l, std::chrono::milliseconds timeout) {
  std::vector<limit> out;
  auto add = [&out](int resource, std::uint64_t value) {
    if (value > 0)
      out.push_back({resource, static_cast<rlim_t>(value)});
  };
  // CPU seconds: the wall-clock timeout rounded up, plus one; SIGXCPU then SIGKILL past it.
  if (timeout > std::chrono::milliseconds{0}) {
    auto seconds = std::chrono::ceil<std::chrono::seconds>(timeout).count();
    add(RLIMIT_CPU, static_cast<std::uint64_t>(seconds) + 1);
  }
  add(RLIMIT_AS, l.address_space_bytes);
  add(RLIMIT_NOFILE, l.open_files);
  add(RLIMIT_NPROC, l.processes);
  add(RLIMIT_FSIZE, l.file_size_bytes);
  add(RLIMIT_CORE, 0);
  return out;
}

/// Returns the wait status, or nullopt when the child was reaped by someone else.
std::optional<int> reap(pid_t pid) {
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, 0) == pid)
      return status;
    if (errno != EINTR)
      return std::nullopt;
  }
}

std::vector<char*> c_strings(const std::vector<std::string>& items) {
  std::vector<char*> out;
  out.reserve(items.size() + 1);
  for (const auto& item : items)
    out.push_back(const_cast<char*>(item.c_str()));
  out.push_back(nullptr);
  return out;
}

int max_fd_to_close() {
  auto limit = ::sysconf(_SC_OPEN_MAX);
  return limit <= 0 ? 1024 : static_cast<int>(std::min<long>(limit, 1 << 20));
}

spawned spawn_keeper(const child_spec& spec, std::chrono::milliseconds cpu_timeout, int stdin_fd,
                     int stdout_fd, int stderr_fd) {
  spawned out;
  unique_fd report_r, report_w;
  if (!make_pipe(report_r, report_w)) {
    out.error = "pipe2: " + errno_text(errno);
    return out;
  }
  auto argv = c_strings(spec.argv);
  auto envp = c_strings(spec.env);
  auto cwd = spec.cwd.string();
  auto limits = limits_of(spec.limits, cpu_timeout);
  launch l{.path = spec.path.c_str(),
           .argv = argv.data(),
           .envp = envp.data(),
           .cwd = cwd.c_str(),
           .stdin_fd = stdin_fd,
           .stdout_fd = stdout_fd,
           .stderr_fd = stderr_fd,
           .report_fd = report_w.get(),
           .max_fd = max_fd_to_close(),
           .parent = ::getpid(),
           .limits = limits.data(),
           .limit_count = static_cast<int>(limits.size())};
  pid_t pid = ::fork();
  if (pid < 0) {
    out.error = "fork: " + errno_text(errno);
    return out;
  }
  if (pid == 0)
    keeper_main(l);
  ::setpgid(pid, pid); // both sides set the keeper's group, so it exists before either goes on
  out.pid = pid;
  report_w.reset();
  // The report pipe closes on a successful execve; before that the child writes why it failed.
  spawn_report report{};
  ssize_t got = 0;
  do
    got = ::read(report_r.get(), &report, sizeof report);
  while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof report)) {
    (void)reap(pid);
    out.spawn_failed = true;
    out.error = std::string{step_name(report.failed)} + ": " + errno_text(report.err);
  }
  return out;
}

} // namespace smith::actors::handlers::detail
