#include "services/orchestrator/cancel_finisher.hpp"

#include "services/orchestrator/log.hpp"

#include <exception>

namespace smith::services::orchestrator {

cancel_finisher::cancel_finisher(std::chrono::milliseconds grace,
                                 std::function<void(const entry&)> finish)
  : grace_(grace), finish_(std::move(finish)), thread_([this] { run(); }) {
}

cancel_finisher::~cancel_finisher() {
  {
    std::lock_guard guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void cancel_finisher::add(std::string id, std::string role, std::uint64_t task_seq) {
  {
    std::lock_guard guard{mtx_};
    due_.emplace(clock::now() + grace_, entry{std::move(id), std::move(role), task_seq, 0});
  }
  cv_.notify_all();
}

void cancel_finisher::run() {
  std::unique_lock lock{mtx_};
  while (!stop_) {
    if (due_.empty()) {
      cv_.wait(lock);
      continue;
    }
    if (cv_.wait_until(lock, due_.begin()->first) != std::cv_status::timeout
        && clock::now() < due_.begin()->first)
      continue; // woken: stopping, or an earlier entry
    if (stop_)
      break;
    auto e = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    lock.unlock();
    bool failed = false;
    try {
      finish_(e);
    } catch (const std::exception& ex) {
      SMITH_LOG(log(), warn, "cancel not finished yet", {"task_id", e.id}, {"error", ex.what()});
      failed = true;
    }
    lock.lock();
    if (!failed)
      continue;
    if (++e.tries < max_tries)
      due_.emplace(clock::now() + grace_, std::move(e));
    else
      SMITH_LOG(log(), error, "cancel left unfinished", {"task_id", e.id},
                {"tries", static_cast<std::int64_t>(e.tries)});
  }
}

} // namespace smith::services::orchestrator
