// JetStream publishing: synchronous (wait for the stream's ack) and asynchronous with a bound
// on acks outstanding, so a slow or absent server turns into backpressure instead of memory.
// Each asynchronous publish reports its own outcome through the completion callback.
//
// The asynchronous side tracks its own PubAcks (one inbox subscription, one reply subject per
// message, one timer thread for the ack timeout) instead of nats.c's js_PublishMsgAsync, whose
// per-message hash entry, timeout record and, for every message, a synthetic timeout message
// delivered ack_timeout later cost a worker more than the rest of storing a result.
#pragma once

#include "transport/expected.hpp"
#include "transport/handle.hpp"
#include "transport/numbered_inbox.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/subjects.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace smith::transport {

class connection;

/// The stream's acknowledgement of a stored message.
struct publish_ack {
  std::string stream;
  std::uint64_t sequence = 0;
  bool duplicate = false; ///< the id was seen inside the duplicate window: nothing was stored
};

/// A message to publish.
struct outgoing {
  std::string subject;
  std::string body;
  std::string msg_id; ///< Nats-Msg-Id (dedup); empty for none
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Extra headers a task may carry.
struct task_headers {
  /// Not before this unix ms: the task goes to <prefix>.schedule.<role>.<type>.<id> as a
  /// message schedule ("@at", nats-server 2.12+) that the server publishes to its task subject
  /// when due.
  std::optional<std::int64_t> not_before_ms;
  std::string traceparent; ///< W3C trace context
};

/// The message for `t` on <prefix>.task.<role>.<type>.<id>, with the headers of docs/WIRE.md.
/// Refuses a role, type or id that cannot stand in a subject.
expected<outgoing> task_message(const wire::subjects& names, std::string_view role,
                                const wire::task& t, const task_headers& extra = {});

/// `out` as a nats.c message, `reply` its reply subject (none for nullptr): what a publisher
/// sends. For code that publishes through nats.c itself (the benchmarks' hand-written loops).
expected<msg_handle> nats_message(const outgoing& out, const char* reply = nullptr);

/// The message for `r` on <prefix>.result.<role>.<id>, without a Nats-Msg-Id: the writer sets
/// result_msg_id() of the task message it ends.
outgoing result_message(const wire::subjects& names, std::string_view role, const wire::result& r,
                        std::string_view traceparent = {});

/// Publishes `msg` through the connection's own JetStream context and waits for the stream's
/// ack: for the odd message outside a publisher's pipeline.
expected<publish_ack> publish(const connection& conn, const outgoing& msg,
                              std::chrono::milliseconds timeout);

/// The Nats-Msg-Id of the result that ends the task message at `task_seq` in SMITH_TASKS:
/// a store retried after a lost ack, or a second worker finishing a redelivery of the same
/// message, dedups to one result (within the duplicate window).
std::string result_msg_id(std::uint64_t task_seq);

class publisher {
public:
  struct options {
    /// Asynchronous publishes allowed to wait for their acks at once.
    std::int64_t max_pending = 4096;
    /// How long publish_async waits for room before it returns errc::backpressure.
    std::chrono::milliseconds stall_wait{1000};
    /// How long an asynchronous publish waits for its ack before it completes with
    /// errc::timeout. Without it an ack lost with a broken link never comes and holds its
    /// pending slot for good. A timed-out message may still be stored (nats.c flushes its
    /// buffer after a reconnect): publish it again with the same Nats-Msg-Id, never assume
    /// it is gone.
    std::chrono::milliseconds ack_timeout{5000};
  };

  /// Called once per asynchronous publish with the caller's reference given to publish_async
  /// and the message's Nats-Msg-Id (empty when it had none): for an ack on nats.c's thread of
  /// the ack subscription, for a timeout on the publisher's timer thread, so two calls may run
  /// at once.
  using completion =
    std::function<void(std::uint64_t ref, std::string_view msg_id, const expected<publish_ack>&)>;

  static expected<std::unique_ptr<publisher>> create(std::shared_ptr<connection> conn, options opts,
                                                     completion on_complete = {});

  ~publisher();

  publisher(const publisher&) = delete;
  publisher& operator=(const publisher&) = delete;

  /// Publishes and waits for the stream's ack.
  expected<publish_ack> publish(const outgoing& msg, std::chrono::milliseconds timeout);

  /// Publishes without waiting; the outcome goes to the completion callback with `ref`. When
  /// max_pending acks are outstanding it waits up to stall_wait for room, then fails with
  /// backpressure (and the callback is not called).
  expected<void> publish_async(const outgoing& msg, std::uint64_t ref = 0);

  /// Waits until every asynchronous publish has its outcome.
  expected<void> wait_complete(std::chrono::milliseconds timeout);

  /// Asynchronous publishes still waiting for their acks.
  std::int64_t pending() const;

private:
  struct state;

  publisher(std::shared_ptr<connection> conn, options opts);

  static void on_ack(state& st, std::uint64_t id, msg_handle ack);
  void expire_loop();

  std::shared_ptr<connection> conn_;
  options opts_;
  std::shared_ptr<state> state_;
  std::unique_ptr<numbered_inbox> acks_;
  std::thread expiry_;
};

} // namespace smith::transport
