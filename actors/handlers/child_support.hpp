// What the child runner and the handler processes share (internal to actors/handlers): owned
// descriptors, pipes, the keeper's exit and reaping, the program's limits.
#pragma once

#include "actors/handlers/child_launch.hpp"
#include "actors/handlers/child_runner.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

namespace smith::actors::handlers::detail {

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
std::string errno_text(int err);

/// Moves `fd` to a number >= 3 so that the child's dup2() onto 0, 1 and 2 cannot overwrite a
/// descriptor it still needs (a daemon started with stdin closed hands out fd 0 to pipe2).
unique_fd lift(unique_fd fd);

/// Close-on-exec on both ends, so a child that another thread forks concurrently does not
/// keep our pipes open.
bool make_pipe(unique_fd& read_end, unique_fd& write_end);

/// True once the keeper has ended (after the program and everything below it). WNOWAIT leaves
/// it a zombie until reap(): while it is one its pid cannot be reused, so stop() cannot hit a
/// stranger.
bool has_exited(pid_t pid);

/// Has the keeper kill the program, its group and every process left below the keeper.
void stop(pid_t keeper);

/// The limits the program gets, in the form the keeper takes (0: not set). CPU seconds: the
/// wall-clock `timeout` rounded up, plus one; none when `timeout` is zero (a long-lived program).
std::vector<limit> limits_of(const child_limits& l, std::chrono::milliseconds timeout);

/// Returns the wait status, or nullopt when the child was reaped by someone else.
std::optional<int> reap(pid_t pid);

/// Pointers into `items` (which must outlive them), null-terminated, as execve takes them.
std::vector<char*> c_strings(const std::vector<std::string>& items);

int max_fd_to_close();

/// A keeper forked for a program, once the program was exec'd (or failed to be).
struct spawned {
  pid_t pid = 0;             ///< the keeper; 0 when the fork itself failed
  bool spawn_failed = false; ///< the child reported a failed step (it has been reaped)
  std::string error;         ///< for a failed fork or step: what and why
};

/// Forks the keeper of `spec` with these descriptors as the program's stdin, stdout and stderr
/// (the caller closes its copies of the child's ends afterwards), and waits until the program
/// was exec'd. `cpu_timeout` bounds its CPU time (zero: none).
spawned spawn_keeper(const child_spec& spec, std::chrono::milliseconds cpu_timeout, int stdin_fd,
                     int stdout_fd, int stderr_fd);

} // namespace smith::actors::handlers::detail
