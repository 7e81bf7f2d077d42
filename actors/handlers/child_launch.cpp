// The keeper and the program: the processes between the worker's fork and the program's
// execve. Async-signal-safe calls only (the worker is multi-threaded): no allocation, no locks.
#include "actors/handlers/child_launch.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <string_view>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace smith::actors::handlers::detail {

const char* step_name(step s) {
  switch (s) {
    case step::setpgid:
      return "setpgid";
    case step::sigmask:
      return "sigprocmask";
    case step::dup2:
      return "dup2";
    case step::chdir:
      return "chdir";
    case step::execve:
      return "execve";
    case step::fork:
      return "fork";
    case step::no_new_privs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case step::rlimit:
      return "setrlimit";
  }
  return "setup";
}

namespace {

[[noreturn]] void report_failure(int fd, step s) {
  spawn_report r{s, errno};
  // If this write fails the worker sees no report and then exit status 127.
  [[maybe_unused]] auto n = ::write(fd, &r, sizeof r);
  ::_exit(127);
}

/// Closes every descriptor from `first` up.
void close_from(int first, int max_fd) {
  bool closed = false;
#ifdef SYS_close_range
  closed = ::syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0;
#endif
  for (int fd = first; !closed && fd < max_fd; ++fd)
    ::close(fd);
}

[[noreturn]] void program_main(const launch& l, pid_t keeper) noexcept {
  int report = l.report_fd;
  if (::setpgid(0, 0) != 0)
    report_failure(report, step::setpgid);
  // The keeper killed with SIGKILL cannot kill the program: the kernel does.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != keeper)
    ::_exit(127); // the keeper died before prctl took effect
  // The worker's threads may block signals and the worker may ignore some (SIGPIPE): exec keeps
  // both, so start the program from the defaults.
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0)
    report_failure(report, step::sigmask);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    ::sigaction(sig, &dfl, nullptr); // fails for SIGKILL, SIGSTOP and libc's own: fine
  if (::dup2(l.stdin_fd, 0) < 0 || ::dup2(l.stdout_fd, 1) < 0 || ::dup2(l.stderr_fd, 2) < 0)
    report_failure(report, step::dup2);
  // The report pipe goes to fd 3 (close-on-exec), then everything above it is closed: other
  // threads' sockets and files must not leak into the program.
  if (report != 3) {
    if (::dup2(report, 3) < 0)
      report_failure(report, step::dup2);
    report = 3;
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
  }
  close_from(4, l.max_fd);
  if (::chdir(l.cwd) != 0)
    report_failure(report, step::chdir);
  // No setuid or file-capability program gains privileges through this exec or any below it.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    report_failure(report, step::no_new_privs);
  for (int i = 0; i < l.limit_count; ++i) {
    rlimit current{};
    if (::getrlimit(l.limits[i].resource, &current) != 0)
      report_failure(report, step::rlimit);
    auto value = l.limits[i].value;
    if (current.rlim_max != RLIM_INFINITY && current.rlim_max < value)
      value = current.rlim_max; // never above what the worker itself may use
    rlimit set{value, value};
    if (::setrlimit(l.limits[i].resource, &set) != 0)
      report_failure(report, step::rlimit);
  }
  ::execve(l.path, l.argv, l.envp);
  report_failure(report, step::execve);
}

/// "/proc/self/task/<pid>/children" into `out` (the keeper has one thread: its tid is its pid).
void children_path(pid_t self, std::array<char, 64>& out) {
  constexpr std::string_view head = "/proc/self/task/";
  constexpr std::string_view tail = "/children";
  std::array<char, 16> digits{};
  int n = 0;
  for (auto v = static_cast<unsigned long>(self); n == 0 || v > 0; v /= 10)
    digits[static_cast<std::size_t>(n++)] = static_cast<char>('0' + v % 10);
  std::size_t at = 0;
  for (char c : head)
    out[at++] = c;
  while (n > 0)
    out[at++] = digits[static_cast<std::size_t>(--n)];
  for (char c : tail)
    out[at++] = c;
  out[at] = '\0';
}

/// Kills every process left below the keeper. A process that left the program's group (with
/// setsid) was reparented here when its parent died; killing a child hands its own children to
/// the keeper the same way. Round by round until no child is left.
void sweep(pid_t self) {
  std::array<char, 64> path{};
  children_path(self, path);
  for (;;) {
    int fd = ::open(path.data(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return; // no /proc here: the group kill was all there is
    int killed = 0;
    long pid = 0; // a number may span two reads
    auto kill_it = [&] {
      if (pid > 0) {
        ::kill(static_cast<pid_t>(-pid), SIGKILL); // its group, if it leads one
        ::kill(static_cast<pid_t>(pid), SIGKILL);
        ++killed;
      }
      pid = 0;
    };
    std::array<char, 4096> buf{};
    for (;;) {
      auto got = ::read(fd, buf.data(), buf.size());
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        break;
      for (ssize_t i = 0; i < got; ++i) {
        char c = buf[static_cast<std::size_t>(i)];
        if (c >= '0' && c <= '9')
          pid = pid * 10 + (c - '0');
        else
          kill_it();
      }
    }
    kill_it();
    ::close(fd);
    if (killed == 0)
      return;
    for (int i = 0; i < killed; ++i) // each reaped child has handed its children to us
      while (::waitpid(-1, nullptr, __WALL) < 0 && errno == EINTR) {
      }
  }
}

/// Ends the keeper the way the program ended.
[[noreturn]] void end_as(int status) {
  if (WIFEXITED(status))
    ::_exit(WEXITSTATUS(status));
  int sig = WTERMSIG(status);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(sig, &dfl, nullptr);
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::sigprocmask(SIG_UNBLOCK, &one, nullptr);
  ::kill(::getpid(), sig);
  ::_exit(128 + sig); // a signal that does not end a process by default
}

} // namespace

[[noreturn]] void keeper_main(const launch& l) noexcept {
  if (::setpgid(0, 0) != 0) // a group of its own: the program's kill never reaches the worker
    report_failure(l.report_fd, step::setpgid);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != l.parent)
    ::_exit(127); // the worker died before prctl took effect
  // The program (same uid) must not read the worker's memory or environment through the keeper.
  ::prctl(PR_SET_DUMPABLE, 0);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // SIGCHLD (something below ended) and SIGTERM (the worker says stop) are taken with
  // sigwaitinfo; SIGCHLD must not be ignored, or children would be reaped behind our back.
  sigset_t waited;
  sigemptyset(&waited);
  sigaddset(&waited, SIGCHLD);
  sigaddset(&waited, SIGTERM);
  if (::sigprocmask(SIG_BLOCK, &waited, nullptr) != 0)
    report_failure(l.report_fd, step::sigmask);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &dfl, nullptr);
  pid_t self = ::getpid();
  pid_t program = ::fork();
  if (program < 0)
    report_failure(l.report_fd, step::fork);
  if (program == 0)
    program_main(l, self);
  ::setpgid(program, program); // both sides, so the group exists before either goes on
  // The keeper holds no pipe: the worker sees EOF when the program and its descendants are done
  // with them, and the report pipe closes when the program has exec'd.
  close_from(0, l.max_fd);

  int status = 0;
  for (bool ended = false; !ended;) {
    siginfo_t got{};
    int sig = ::sigwaitinfo(&waited, &got);
    if (sig == SIGTERM) // the deadline passed or the task was cancelled
      ::kill(-program, SIGKILL);
    for (;;) { // reap what ended; the program's end is the one that counts
      siginfo_t w{};
      if (::waitid(P_ALL, 0, &w, WEXITED | WNOHANG | WNOWAIT | __WALL) != 0 || w.si_pid == 0)
        break;
      if (w.si_pid == program) {
        // While the program is a zombie its pid, the group id, cannot be reused.
        ::kill(-program, SIGKILL);
        while (::waitpid(program, &status, __WALL) < 0 && errno == EINTR) {
        }
        ended = true;
      } else {
        ::waitpid(w.si_pid, nullptr, __WALL);
      }
    }
  }
  sweep(self);
  end_as(status);
}

} // namespace smith::actors::handlers::detail
