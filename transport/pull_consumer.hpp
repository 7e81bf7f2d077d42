// A durable pull consumer, with the pull loop owned here (NATS ADR-13) instead of nats.c's
// natsSubscription_Fetch, which in 3.4.1 can overflow its array when messages are already
// waiting (nats.c PR #749) and can mistake an earlier request's 408 for its own timeout
// (nats.c #631). Each pull request gets its own reply subject, so a status message is matched
// to the request it ends; messages that arrive after a fetch returned are kept for the next one.
#pragma once

#include "transport/expected.hpp"
#include "transport/handle.hpp"
#include "transport/message.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace smith::transport {

class connection;

/// A consumer's counters as the server reports them.
struct consumer_state {
  std::uint64_t num_pending = 0;    ///< messages not yet delivered
  std::int64_t num_ack_pending = 0; ///< delivered, not yet acked
  std::int64_t num_redelivered = 0;
  std::int64_t num_waiting = 0; ///< pull requests waiting at the server
  std::uint64_t delivered_stream_seq = 0;
  std::uint64_t ack_floor_stream_seq = 0;
  /// The server's configuration, which may differ from this process's settings.
  std::chrono::milliseconds ack_wait{0};
  std::int64_t max_deliver = -1; ///< -1: unlimited
};

/// Reads a consumer's counters.
expected<consumer_state> consumer_info(const connection& conn, const std::string& stream,
                                       const std::string& durable);

class pull_consumer {
public:
  /// Binds to an existing durable consumer (the topology creates them). A missing consumer is
  /// errc::not_found with a hint, not a silent creation.
  static expected<std::unique_ptr<pull_consumer>> bind(std::shared_ptr<connection> conn,
                                                       std::string stream, std::string durable);

  ~pull_consumer();

  pull_consumer(const pull_consumer&) = delete;
  pull_consumer& operator=(const pull_consumer&) = delete;

  /// Returns between 1 and `max_messages` messages as soon as any is there, or none when
  /// nothing came within `expiry`. Never holds more unacknowledged credit at the server than
  /// the largest `max_messages` asked for. Call it from one thread at a time; it blocks, so
  /// keep it off actor scheduler threads.
  expected<std::vector<message>> fetch(std::size_t max_messages, std::chrono::milliseconds expiry);

  /// For shutting down: every message already delivered or still arriving for the pull
  /// requests that are open, without asking for more; returns once no request is open or
  /// after `max_wait`. The caller hands them back (nak) instead of letting them wait out
  /// AckWait at the server.
  std::vector<message> drain(std::chrono::milliseconds max_wait);

  /// The server's counters for this consumer.
  expected<consumer_state> info() const;

  /// Messages delivered by the server but not yet handed out by fetch.
  std::size_t buffered() const;

  /// Pull requests still open at the server, by what they may still deliver.
  std::uint64_t outstanding() const;

  const std::string& stream() const noexcept {
    return stream_;
  }

  const std::string& durable() const noexcept {
    return durable_;
  }

private:
  struct request {
    std::uint64_t id;
    std::uint64_t remaining;
    // When the server drops it. Messages it sent before then may still be on the wire; they
    // are kept and handed out like any other.
    std::chrono::steady_clock::time_point expires_at;
  };

  pull_consumer(std::shared_ptr<connection> conn, std::string stream, std::string durable);

  expected<void> send_request(std::uint64_t batch, std::chrono::milliseconds expiry);
  expected<void> handle(natsMsg* raw, std::vector<message>& out);
  expected<void> take_buffered(std::vector<message>& out, std::size_t max);
  void forget_expired_requests();
  std::uint64_t credit() const;
  // Milliseconds to wait for the next message: until `deadline`, or sooner when the oldest
  // open request runs out at the server (then the credit is topped up again), at least 1.
  std::int64_t wait_ms(std::chrono::steady_clock::time_point deadline) const;

  std::shared_ptr<connection> conn_;
  std::string stream_;
  std::string durable_;
  std::string next_subject_; // $JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>
  std::string inbox_;        // requests reply to <inbox>.<id>
  subscription_handle sub_;
  std::deque<request> requests_;
  std::uint64_t next_id_ = 1;
  std::uint64_t listener_ = 0;
  // Bumped by the connection's listener on reconnect: requests made on the old link are gone.
  std::atomic<std::uint64_t> link_epoch_{0};
  std::uint64_t seen_epoch_ = 0;
};

} // namespace smith::transport
