// Handler processes (docs/HANDLER-PROTOCOL.md): long-lived programs in any language that run a
// role's tasks, spoken to in length-prefixed msgpack frames over their stdin and stdout. The pool
// holds one slot per process. Each slot's life (start, hello, read its frames, notice its death)
// runs in serve(), on a thread of its own: the worker gives each slot a detached actor under a
// supervisor, which starts serve() again after a death, with backoff, within the restart
// intensity. run() is the handler: it gives a task to a process with room, passes its progress
// on, cancels it on the task's cancel flag, and returns its result.
#pragma once

#include "actors/handler.hpp"
#include "actors/handlers/child_runner.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace smith::actors::handlers {

struct process_pool_config {
  /// The program (absolute) and its arguments, argv[0] included.
  std::string path;
  std::vector<std::string> argv;
  /// The complete environment, "NAME=value" each.
  std::vector<std::string> env;
  std::filesystem::path cwd = "/";
  child_limits limits;
  /// How many processes (slots).
  std::size_t processes = 1;
  /// A process that has not said hello by then is killed (and counts as a crash).
  std::chrono::milliseconds hello_timeout{10'000};
  /// A cancelled task whose result has not come by then gets its process killed.
  std::chrono::milliseconds cancel_grace{5'000};
  /// After stdin closes (drain), a process still running this long is killed.
  std::chrono::milliseconds stop_grace{5'000};
  /// A line the process wrote to stderr (at most 4 KiB of it).
  std::function<void(pid_t, std::string_view line)> on_stderr;
  /// A log frame: the task's id (empty when it named none), level and message.
  std::function<void(pid_t, std::string_view id, std::string_view level, std::string_view text)>
    on_log;
};

class process_pool {
public:
  explicit process_pool(process_pool_config cfg);
  ~process_pool();
  process_pool(const process_pool&) = delete;
  process_pool& operator=(const process_pool&) = delete;

  /// The handler of every task type of the role: blocks until the task's result, its process's
  /// death (a failed attempt, "handler_crashed") or, once cancelled, its cancel's answer.
  outcome run(task_context& ctx);

  /// One life of slot `slot`: starts its process and serves it until it dies or the pool stops.
  /// Returns why it died; empty when it ended because the pool stopped.
  std::string serve(std::size_t slot);

  /// No new tasks; each process gets end of input once its tasks are done, then stop_grace.
  void stop();

  const process_pool_config& config() const noexcept {
    return cfg_;
  }

private:
  struct pending;
  struct process;

  /// Ends `p` for a reason: its tasks fail (or are cancelled), it leaves the pool.
  void bury(const std::shared_ptr<process>& p, const std::string& why);

  process_pool_config cfg_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<process>> live_; ///< guarded by mtx_
  std::uint64_t next_seq_ = 1;                 ///< guarded by mtx_
  std::atomic<bool> stopping_{false};
};

/// The handler for a pool: run() of `pool`, which must outlive the worker.
handler_fn make_process_handler(std::shared_ptr<process_pool> pool);

/// Splits a --handler-process command on spaces (no quoting, no shell) and finds the program in
/// `path_env` (PATH) when it has no '/'. Throws std::invalid_argument when it is empty or the
/// program is not an executable file.
std::vector<std::string> handler_command(std::string_view command, std::string_view path_env,
                                         std::string& program);

} // namespace smith::actors::handlers
