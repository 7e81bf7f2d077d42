// A subscription to a fresh inbox whose replies say which request they answer: request n is
// sent with the reply subject <inbox>.<n>, and the handler hears n with the reply. The
// publisher reads its PubAcks this way, and ack_confirmations its confirmed acks.
#pragma once

#include "transport/expected.hpp"
#include "transport/handle.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace smith::transport {

class connection;

class numbered_inbox {
public:
  /// Called on nats.c's thread of this subscription, one reply at a time, with the number the
  /// reply subject ends in and the reply itself (the handler owns it). Replies to any other
  /// subject under the inbox are dropped unread.
  using handler = std::function<void(std::uint64_t n, msg_handle reply)>;

  /// Subscribes to <inbox>.* with no pending limits: every reply answers a request this
  /// process made, so the caller's own bound on requests in flight bounds them, and none may
  /// be dropped as a slow consumer's.
  static expected<std::unique_ptr<numbered_inbox>> create(const connection& conn, handler on_reply);

  /// Unsubscribes. The handler is kept until nats.c says its last call has returned, so a
  /// reply being handled never outlives what it touches.
  ~numbered_inbox();

  numbered_inbox(const numbered_inbox&) = delete;
  numbered_inbox& operator=(const numbered_inbox&) = delete;

  /// The reply subject for request `n`.
  std::string reply_for(std::uint64_t n) const;

private:
  numbered_inbox() = default;

  static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure);
  static void on_complete(void* closure);

  std::string prefix_; ///< "<inbox>."
  subscription_handle sub_;
};

} // namespace smith::transport
