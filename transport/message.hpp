// A message delivered by a pull consumer, with its JetStream acknowledgement verbs. The ack
// goes to the message's reply subject ($JS.ACK...), as the JetStream protocol says; nats.c's
// natsMsg_Ack* cannot be used on messages of a plain subscription.
#pragma once

#include "transport/ack_sink.hpp"
#include "transport/expected.hpp"
#include "transport/handle.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace smith::transport {

class connection;

/// What the $JS.ACK reply subject says about a delivery.
struct delivery_info {
  std::string_view stream;
  std::string_view consumer;
  std::uint64_t delivery_count = 0; ///< 1 on the first delivery
  std::uint64_t stream_sequence = 0;
  std::uint64_t consumer_sequence = 0;
  std::int64_t timestamp_ns = 0; ///< when the message was stored
  std::uint64_t pending = 0;     ///< messages left for the consumer after this one
};

/// Parses a v1 ($JS.ACK.<stream>.<consumer>.<n>...) or v2 (with domain and account hash)
/// acknowledgement subject. Returns nothing when `reply` is not one.
std::optional<delivery_info> parse_ack_subject(std::string_view reply);

class message {
public:
  /// `acks` takes this message's acknowledgements: the connection it arrived on.
  message(msg_handle msg, std::shared_ptr<ack_sink> acks, delivery_info info);

  message(message&&) noexcept;
  message& operator=(message&&) noexcept;
  ~message();

  // -- content ----------------------------------------------------------------------------------

  std::string_view subject() const;
  std::string_view data() const;

  /// The value of header `key`, nothing when absent.
  std::optional<std::string_view> header(const char* key) const;

  const delivery_info& info() const noexcept {
    return info_;
  }

  std::uint64_t delivery_count() const noexcept {
    return info_.delivery_count;
  }

  std::uint64_t stream_sequence() const noexcept {
    return info_.stream_sequence;
  }

  // -- acknowledgement --------------------------------------------------------------------------

  /// Done: the server removes it from the work queue.
  expected<void> ack();

  /// Done; the server confirms it took the ack with an empty message to `confirm_to` (see
  /// ack_confirmations).
  expected<void> ack(std::string_view confirm_to);

  /// Done, and waits until the server confirms it took the ack.
  expected<void> ack_sync(std::chrono::milliseconds timeout);

  /// Failed attempt: redeliver now (or after the consumer's BackOff step).
  expected<void> nak();

  /// Failed attempt: redeliver after `delay`.
  expected<void> nak(std::chrono::milliseconds delay);

  /// Never redeliver. The caller copies it to the dead-letter stream first.
  expected<void> term();

  /// term, confirmed to `confirm_to` like ack(confirm_to).
  expected<void> term(std::string_view confirm_to);

  /// Still working: restarts the AckWait timer. May be sent many times before the final ack.
  expected<void> in_progress();

  /// Whether ack, nak or term was sent through this handle.
  bool acknowledged() const noexcept {
    return done_.load();
  }

private:
  expected<void> send(std::string_view body, bool final, const char* verb,
                      std::string_view confirm_to = {});

  msg_handle msg_;
  std::shared_ptr<ack_sink> acks_;
  delivery_info info_;
  std::atomic<bool> done_{false};
};

} // namespace smith::transport
