// The worker's side of a run: forks the keeper (child_launch.cpp), reads the program's pipes,
// watches the deadline and the cancel flag, and has the keeper end the run.
#include "actors/handlers/child_runner.hpp"

#include "actors/handlers/child_launch.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace smith::actors::handlers {

namespace {

using clock_type = std::chrono::steady_clock;

// -- descriptors ---------------------------------------------------------------------------------

/// Owns one file descriptor.
class unique_fd {
public:
  unique_fd() = default;

  explicit unique_fd(int fd) noexcept : fd_(fd) {
  }

  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {
  }

  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other)
      reset(std::exchange(other.fd_, -1));
    return *this;
  }

  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  ~unique_fd() {
    reset();
  }

  int get() const noexcept {
    return fd_;
  }

  explicit operator bool() const noexcept {
    return fd_ >= 0;
  }

  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

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

/// The child's stdin: /dev/null, or the data in an unlinked file. A file, unlike a pipe, can
/// neither block us when the child does not read nor raise SIGPIPE in the worker when the
/// child exits early.
unique_fd make_stdin(const child_spec& spec) {
  if (!spec.stdin_data)
    return lift(unique_fd{::open("/dev/null", O_RDONLY | O_CLOEXEC)});
  auto dir = spec.scratch_dir.empty() ? std::filesystem::temp_directory_path() : spec.scratch_dir;
  auto name = (dir / ".smith-stdin-XXXXXX").string();
  unique_fd fd{::mkostemp(name.data(), O_CLOEXEC)};
  if (!fd)
    return fd;
  ::unlink(name.c_str());
  std::string_view rest = *spec.stdin_data;
  while (!rest.empty()) {
    auto n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return {};
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0)
    return {};
  return lift(std::move(fd));
}

// -- the parent side -----------------------------------------------------------------------------

/// One output pipe: keeps the first `cap` bytes and drops the rest.
struct output_sink {
  unique_fd fd;
  captured_stream* into = nullptr;
  std::size_t cap = 0;

  /// One read; true when it got bytes. Closes the pipe at EOF or on an error other than
  /// "nothing to read yet".
  bool read_once() {
    std::array<char, std::size_t{64} * 1024> buf; // uninitialised on purpose: read() fills it
    auto n = ::read(fd.get(), buf.data(), buf.size());
    if (n > 0) {
      auto size = static_cast<std::size_t>(n);
      auto keep = std::min(size, cap - std::min(cap, into->bytes.size()));
      into->bytes.append(buf.data(), keep);
      if (keep < size)
        into->truncated = true;
      return true;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      fd.reset();
    return false;
  }

  /// Takes what the exited child left in the pipe. Bounded: a process that escaped the group
  /// may hold the pipe open and keep writing, and must not keep us here.
  void drain() {
    for (int i = 0; fd && i < 32 && read_once(); ++i) {
    }
  }
};

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
std::vector<detail::limit> limits_of(const child_limits& l, std::chrono::milliseconds timeout) {
  std::vector<detail::limit> out;
  auto add = [&out](int resource, std::uint64_t value) {
    if (value > 0)
      out.push_back({resource, static_cast<rlim_t>(value)});
  };
  // CPU seconds: the wall-clock timeout rounded up, plus one; SIGXCPU then SIGKILL past it.
  auto seconds = std::chrono::ceil<std::chrono::seconds>(timeout).count();
  add(RLIMIT_CPU, static_cast<std::uint64_t>(std::max<std::int64_t>(seconds, 0)) + 1);
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

} // namespace

child_result run_child(const child_spec& spec) {
  child_result result;
  auto start = clock_type::now();
  auto finish = [&]() -> child_result {
    result.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    return std::move(result);
  };
  auto setup_failed = [&](const char* what) {
    result.how = child_result::ending::setup_failed;
    result.error = std::string{what} + ": " + errno_text(errno);
    return finish();
  };
  unique_fd in = make_stdin(spec);
  if (!in)
    return setup_failed(spec.stdin_data ? "staging stdin" : "opening /dev/null");
  unique_fd out_r, out_w, err_r, err_w, report_r, report_w;
  if (!make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) || !make_pipe(report_r, report_w))
    return setup_failed("pipe2");
  auto argv = c_strings(spec.argv);
  auto envp = c_strings(spec.env);
  auto cwd = spec.cwd.string();
  auto limits = limits_of(spec.limits, spec.timeout);
  detail::launch l{.path = spec.path.c_str(),
                   .argv = argv.data(),
                   .envp = envp.data(),
                   .cwd = cwd.c_str(),
                   .stdin_fd = in.get(),
                   .stdout_fd = out_w.get(),
                   .stderr_fd = err_w.get(),
                   .report_fd = report_w.get(),
                   .max_fd = max_fd_to_close(),
                   .parent = ::getpid(),
                   .limits = limits.data(),
                   .limit_count = static_cast<int>(limits.size())};
  pid_t pid = ::fork();
  if (pid < 0)
    return setup_failed("fork");
  if (pid == 0)
    detail::keeper_main(l);
  ::setpgid(pid, pid); // both sides set the keeper's group, so it exists before either goes on
  result.pid = pid;
  in.reset();
  out_w.reset();
  err_w.reset();
  report_w.reset();

  // The report pipe closes on a successful execve; before that the child writes why it failed.
  detail::spawn_report report{};
  ssize_t got = 0;
  do
    got = ::read(report_r.get(), &report, sizeof report);
  while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof report)) {
    reap(pid);
    result.how = child_result::ending::spawn_failed;
    result.error = std::string{detail::step_name(report.failed)} + ": " + errno_text(report.err);
    return finish();
  }
  report_r.reset();

  std::array<output_sink, 2> sinks{
    output_sink{std::move(out_r), &result.out, spec.max_output_bytes},
    output_sink{std::move(err_r), &result.err, spec.max_output_bytes}};
  for (auto& sink : sinks)
    ::fcntl(sink.fd.get(), F_SETFL, ::fcntl(sink.fd.get(), F_GETFL) | O_NONBLOCK);
  auto deadline = start + spec.timeout;
  // Once both pipes are closed the child is usually exiting: look again soon, then back off.
  auto idle_wait = std::chrono::milliseconds{1};
  for (;;) {
    if (spec.cancel != nullptr && spec.cancel->load(std::memory_order_relaxed)) {
      result.how = child_result::ending::cancelled;
      stop(pid);
      break;
    }
    auto now = clock_type::now();
    if (now >= deadline) {
      result.how = child_result::ending::timed_out;
      stop(pid);
      break;
    }
    if (has_exited(pid)) {
      // The keeper has killed everything below it; what the program wrote before it exited is
      // still in the pipes.
      for (auto& sink : sinks)
        sink.drain();
      break;
    }
    std::array<pollfd, 2> fds{};
    nfds_t count = 0;
    for (auto& sink : sinks)
      if (sink.fd)
        fds[count++] = pollfd{sink.fd.get(), POLLIN, 0};
    auto wait = count > 0 ? spec.poll_interval : std::min(idle_wait, spec.poll_interval);
    if (count == 0)
      idle_wait *= 2;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    auto timeout_ms = static_cast<int>(std::min(wait, left).count());
    if (::poll(fds.data(), count, timeout_ms) <= 0)
      continue;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0)
        continue;
      for (auto& sink : sinks)
        if (sink.fd && sink.fd.get() == fds[i].fd)
          sink.read_once();
    }
  }
  if (auto status = reap(pid)) {
    if (WIFEXITED(*status))
      result.exit_code = WEXITSTATUS(*status);
    else if (WIFSIGNALED(*status))
      result.term_signal = WTERMSIG(*status);
  }
  if (result.how == child_result::ending::exited && result.term_signal)
    result.how = child_result::ending::signaled;
  return finish();
}

} // namespace smith::actors::handlers
