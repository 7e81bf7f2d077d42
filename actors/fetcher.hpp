// The fetch thread of a dispatcher: the only caller of the pull consumer. It keeps a standing
// pull for as many tasks as the dispatcher says it can take, screens each message (decoding
// it, and looking up a redelivery's stored result) and hands what it fetched to the
// dispatcher actor in one message. nats.c's blocking calls stay on this thread.
#pragma once

#include "actors/messages.hpp"
#include "transport/pull_consumer.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace smith::actors {

class fetcher {
public:
  /// Runs on the fetch thread for each message: what goes to the dispatcher, or nothing when
  /// the screen settled the message itself (a redelivery whose result is stored is acked).
  using screen_fn = std::function<std::optional<delivery>(message_ptr)>;

  fetcher(std::unique_ptr<transport::pull_consumer> consumer, caf::actor dispatcher,
          std::chrono::milliseconds expiry, screen_fn screen);

  /// Stops and joins the thread.
  ~fetcher();

  fetcher(const fetcher&) = delete;
  fetcher& operator=(const fetcher&) = delete;

  /// How many deliveries the dispatcher can take now (idle workers and the prefetch it allows,
  /// less what it holds): how many messages may be in flight to it at most.
  void set_capacity(std::int64_t idle);

  /// The dispatcher took the messages of `batch` in hand. Call it after set_capacity has
  /// accounted for what they took, so the fetch thread never sees a slot that is already gone.
  void delivered(const delivery_batch& batch);

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
  screen_fn screen_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::int64_t capacity_ = 0;
  // By stream sequence: sent to the dispatcher, not yet taken in hand.
  std::map<std::uint64_t, std::shared_ptr<transport::message>> in_transit_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace smith::actors
