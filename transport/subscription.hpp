// A core NATS subscription with a callback: progress events, cancel notices, worker pings and
// results as they are stored. Core NATS delivers at most once; callers that must not miss a
// message read the stream instead.
#pragma once

#include "transport/expected.hpp"
#include "transport/handle.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace smith::transport {

class connection;

/// One delivered core message, valid during the callback only.
struct core_message {
  std::string_view subject;
  std::string_view reply; ///< empty when the sender expects no answer
  std::string_view data;
};

class subscription {
public:
  using callback = std::function<void(const core_message&)>;

  /// Subscribes to `subject` (wildcards allowed); `fn` runs on a nats.c thread, one message
  /// at a time, and must not block. With a `queue` group, each message goes to one member.
  /// Once the subscription is destroyed `fn` is not running and is never called again, so it
  /// may capture what its owner destroys after it.
  static expected<std::unique_ptr<subscription>> create(std::shared_ptr<connection> conn,
                                                        const std::string& subject, callback fn,
                                                        const std::string& queue = {});

  /// Waits for a call of the callback in progress on another thread.
  ~subscription();

  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;

private:
  subscription() = default;
  struct holder;

  static void on_message(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);
  static void on_complete(void* closure);

  std::shared_ptr<connection> conn_;
  subscription_handle sub_;
  std::shared_ptr<holder> holder_;
};

/// Publishes a core NATS message (no stream, no ack): events, notices and replies.
expected<void> publish_core(const connection& conn, const std::string& subject,
                            std::string_view data, const std::string& reply = {});

} // namespace smith::transport
