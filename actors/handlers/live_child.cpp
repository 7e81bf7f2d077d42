#include "actors/handlers/live_child.hpp"

#include <cerrno>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace smith::actors::handlers {

using namespace detail;

std::unique_ptr<live_child> live_child::start(const child_spec& spec, std::string& error) {
  unique_fd in_r, in_w, out_r, out_w, err_r, err_w;
  if (!make_pipe(in_r, in_w) || !make_pipe(out_r, out_w) || !make_pipe(err_r, err_w)) {
    error = "pipe2: " + errno_text(errno);
    return nullptr;
  }
  auto spawned =
    spawn_keeper(spec, std::chrono::milliseconds{0}, in_r.get(), out_w.get(), err_w.get());
  if (spawned.pid == 0 || spawned.spawn_failed) {
    error = spawned.error;
    return nullptr;
  }
  in_r.reset();
  out_w.reset();
  err_w.reset();
  pid_t pid = spawned.pid;
  std::unique_ptr<live_child> child{new live_child};
  child->in_ = std::move(in_w);
  child->out_ = std::move(out_r);
  child->err_ = std::move(err_r);
  child->pid_ = pid;
  for (int fd : {child->out_.get(), child->err_.get()})
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return child;
}

live_child::~live_child() {
  if (!reaped_) {
    stop();
    (void)reap();
  }
}

bool live_child::write(std::string_view bytes) {
  while (!bytes.empty()) {
    if (!in_)
      return false;
    // A pipe whose reader has gone raises SIGPIPE: the process pool ignores it (its
    // constructor), so this returns EPIPE instead.
    auto n = ::write(in_.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{in_.get(), POLLOUT, 0};
      (void)::poll(&p, 1, 100);
      continue;
    }
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void live_child::close_stdin() {
  in_.reset();
}

bool live_child::exited() const {
  return reaped_ || has_exited(pid_);
}

void live_child::stop() const {
  if (!reaped_)
    detail::stop(pid_);
}

std::string live_child::reap() {
  if (reaped_)
    return "reaped";
  auto status = detail::reap(pid_);
  reaped_ = true;
  if (!status)
    return "ended (reaped elsewhere)";
  if (WIFEXITED(*status))
    return "exited with status " + std::to_string(WEXITSTATUS(*status));
  if (WIFSIGNALED(*status))
    return "killed by signal " + std::to_string(WTERMSIG(*status));
  return "ended";
}

} // namespace smith::actors::handlers
