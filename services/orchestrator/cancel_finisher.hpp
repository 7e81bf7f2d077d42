// Ends cancels that no worker ends. A task the tracker saw running is left to its worker, which
// stores "cancelled" once its handler stopped; but a worker that was waiting out a retry
// backoff holds nothing, and the deleted task is never delivered again. Past a grace, the
// finisher calls back to store the result itself: under the task's result Nats-Msg-Id, so
// whichever of the two stores first is the one result.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace smith::services::orchestrator {

class cancel_finisher {
public:
  struct entry {
    std::string id;
    std::string role;
    std::uint64_t task_seq = 0;
    int tries = 0;
  };

  /// `finish` runs on the finisher's thread; when it throws it is called again after another
  /// grace, up to `max_tries` calls.
  cancel_finisher(std::chrono::milliseconds grace, std::function<void(const entry&)> finish);

  /// Stops without finishing what is still waiting.
  ~cancel_finisher();

  cancel_finisher(const cancel_finisher&) = delete;
  cancel_finisher& operator=(const cancel_finisher&) = delete;

  static constexpr int max_tries = 10;

  /// Calls `finish` with the task after the grace.
  void add(std::string id, std::string role, std::uint64_t task_seq);

private:
  using clock = std::chrono::steady_clock;

  void run();

  std::chrono::milliseconds grace_;
  std::function<void(const entry&)> finish_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::multimap<clock::time_point, entry> due_;
  std::thread thread_; // last: starts once the rest is there
};

} // namespace smith::services::orchestrator
