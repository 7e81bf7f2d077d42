// The worker's side of a run: forks the keeper (child_launch.cpp), reads the program's pipes,
// watches the deadline and the cancel flag, and has the keeper end the run.
#include "actors/handlers/child_runner.hpp"

#include "actors/handlers/child_launch.hpp"
#include "actors/handlers/child_support.hpp"

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
using namespace detail;

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
  unique_fd out_r, out_w, err_r, err_w;
  if (!make_pipe(out_r, out_w) || !make_pipe(err_r, err_w))
    return setup_failed("pipe2");
  auto child = spawn_keeper(spec, spec.timeout, in.get(), out_w.get(), err_w.get());
  if (child.pid == 0) {
    result.how = child_result::ending::setup_failed;
    result.error = child.error;
    return finish();
  }
  pid_t pid = child.pid;
  result.pid = pid;
  in.reset();
  out_w.reset();
  err_w.reset();
  if (child.spawn_failed) {
    result.how = child_result::ending::spawn_failed;
    result.error = child.error;
    return finish();
  }

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
