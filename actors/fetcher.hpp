// The fetch thread of a dispatcher: the only caller of the pull consumer. It asks the server
// for exactly as many tasks as there are idle workers not yet promised one, and hands each
// message to the dispatcher actor. nats.c's blocking calls stay on this thread.
#pragma once

#include "transport/pull_consumer.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
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

  /// The dispatcher took the message at stream sequence `seq` in hand. Call it after
  /// set_capacity has accounted for what that message took, so the fetch thread never sees a
  /// slot that is already gone.
  void delivered(std::uint64_t seq);

  /// Stops fetching, then hands back (nak, no delay) every message the dispatcher never took:
  /// those the consumer holds or still receives for its open pull requests, and those sent to
  /// the dispatcher but not yet taken in hand. Nothing waits out AckWait at the server. Only
  /// for a dispatcher that is ending (draining done, or crashed): its mailbox is dropped with
  /// it, so a message is never handed back and read too. Idempotent.
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
  // By stream sequence: sent to the dispatcher, not yet taken in hand.
  std::map<std::uint64_t, std::shared_ptr<transport::message>> in_transit_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace smith::actors
