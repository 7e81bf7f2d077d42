// The fetch thread of a dispatcher: the only caller of the pull consumer. It asks the server
// for exactly as many tasks as there are idle workers not yet promised one, and hands each
// message to the dispatcher actor. nats.c's blocking calls stay on this thread.
#pragma once

#include "transport/pull_consumer.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace smith::actors {

class fetcher {
public:
  fetcher(std::unique_ptr<transport::pull_consumer> consumer, caf::actor dispatcher,
          std::chrono::milliseconds expiry);

  /// Stops and joins the thread.
  ~fetcher();

  fetcher(const fetcher&) = delete;
  fetcher& operator=(const fetcher&) = delete;

  /// Idle workers without a task promised: how many messages may be in flight to the
  /// dispatcher at most.
  void set_capacity(std::int64_t idle);

  /// The dispatcher took one message in hand. Call it after set_capacity has accounted for
  /// what that message took, so the fetch thread never sees a slot that is already gone.
  void delivered();

  /// Stops fetching; messages the consumer already holds are still handed to the dispatcher
  /// (which naks them when draining). Returns once the thread is done. Idempotent.
  void stop();

  const transport::pull_consumer& consumer() const noexcept {
    return *consumer_;
  }

private:
  void run();
  void hand_over(std::vector<transport::message>& batch);

  std::unique_ptr<transport::pull_consumer> consumer_;
  caf::actor dispatcher_;
  std::chrono::milliseconds expiry_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::int64_t capacity_ = 0;
  std::int64_t in_transit_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace smith::actors
