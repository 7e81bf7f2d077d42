// fork+exec with the safety nets a test needs: own process group, parent-death signal, no
// inherited descriptors, default signal state.
#include "support/child_process.hpp"

#include "support/wait.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

namespace smith::testing {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Runs in the child between fork() and exec(): the parent may have threads (nats.c's), so
// only async-signal-safe calls here; no allocation, no locks.
[[noreturn]] void exec_child(pid_t parent, int stdin_fd, int output_fd, const char* path,
                             char* const* argv, int max_fd) {
  // Its own group, so a signal meant for the test's group (Ctrl-C in a terminal) does not
  // hit the server half-way through a test, and the fixture can signal the whole group.
  setpgid(0, 0);
  // The server must not outlive a crashed test. The parent may already have died before
  // prctl(), in which case we were re-parented and the signal will never come.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
    _exit(127);
  if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(output_fd, STDOUT_FILENO) < 0
      || dup2(output_fd, STDERR_FILENO) < 0)
    _exit(127);
  // Descriptors the test holds (listening sockets, NATS connections) would otherwise keep
  // ports busy while the server runs.
  if (close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < max_fd; ++fd)
      close(fd);
  }
  // Ignored signals and the signal mask survive exec; the server must see SIGTERM and SIGPIPE
  // as usual.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD})
    signal(sig, SIG_DFL);
  execv(path, argv);
  _exit(127);
}

} // namespace

// -- constructors, destructors, and assignment operators --------------------------------------

child_process::~child_process() {
  kill();
}

child_process::child_process(child_process&& other) noexcept
  : pid_(std::exchange(other.pid_, -1)), wait_status_(other.wait_status_),
    reaped_(std::exchange(other.reaped_, false)) {
}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    kill();
    pid_ = std::exchange(other.pid_, -1);
    wait_status_ = other.wait_status_;
    reaped_ = std::exchange(other.reaped_, false);
  }
  return *this;
}

child_process child_process::spawn(const std::vector<std::string>& argv,
                                   const std::filesystem::path& output) {
  // Everything the child needs is prepared here, because the child may not allocate.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  rlimit files{};
  int max_fd = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 65536
                 ? static_cast<int>(files.rlim_cur)
                 : 65536;
  int output_fd = open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (output_fd < 0)
    throw_errno("cannot open " + output.string());
  int stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (stdin_fd < 0) {
    auto err = errno;
    close(output_fd);
    errno = err;
    throw_errno("cannot open /dev/null");
  }
  auto parent = getpid();
  auto pid = fork();
  if (pid == 0)
    exec_child(parent, stdin_fd, output_fd, args[0], args.data(), max_fd);
  auto err = errno;
  close(stdin_fd);
  close(output_fd);
  if (pid < 0) {
    errno = err;
    throw_errno("fork() failed for " + argv[0]);
  }
  // Also set the group here: whichever of parent and child runs first, the group exists
  // before spawn() returns, so kill() can signal it.
  setpgid(pid, pid);
  return child_process{pid};
}

// -- properties -------------------------------------------------------------------------------

bool child_process::running() {
  if (pid_ < 0 || reaped_)
    return false;
  int status = 0;
  auto res = waitpid(pid_, &status, WNOHANG);
  if (res == 0)
    return true;
  reaped_ = true;
  wait_status_ = res == pid_ ? status : 0;
  return false;
}

bool child_process::stopped() const {
  if (pid_ < 0 || reaped_)
    return false;
  std::error_code ec;
  std::filesystem::directory_iterator tasks{"/proc/" + std::to_string(pid_) + "/task", ec};
  if (ec)
    return false;
  int threads = 0;
  for (const auto& task : tasks) {
    std::ifstream in{task.path() / "stat"};
    std::string stat{std::istreambuf_iterator<char>{in}, {}};
    // "pid (comm) S ...": the state follows the last ')' (comm may hold any characters).
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'T')
      return false;
    ++threads;
  }
  return threads > 0;
}

std::string child_process::describe_exit() {
  if (pid_ < 0)
    return "not started";
  if (running())
    return "running";
  if (WIFEXITED(wait_status_))
    return "exited with status " + std::to_string(WEXITSTATUS(wait_status_));
  if (WIFSIGNALED(wait_status_))
    return "killed by signal " + std::to_string(WTERMSIG(wait_status_));
  return "ended (wait status " + std::to_string(wait_status_) + ")";
}

// -- stopping ---------------------------------------------------------------------------------

void child_process::kill() {
  if (!running())
    return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  reap();
}

bool child_process::terminate(std::chrono::milliseconds grace) {
  if (!running())
    return true;
  ::kill(pid_, SIGTERM);
  if (wait_until([this] { return !running(); }, grace, std::chrono::milliseconds{10}))
    return true;
  kill();
  return false;
}

void child_process::reap() {
  int status = 0;
  pid_t res;
  do {
    res = waitpid(pid_, &status, 0);
  } while (res < 0 && errno == EINTR);
  reaped_ = true;
  // ECHILD means someone else reaped it (a SIGCHLD handler set to SIG_IGN); it is gone anyway.
  wait_status_ = res == pid_ ? status : 0;
}

} // namespace smith::testing
