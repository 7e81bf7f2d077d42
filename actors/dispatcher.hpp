// The dispatcher of one role: owns the pull consumer (on a fetch thread of its own, so no
// nats.c call blocks a CAF scheduler thread), fetches only as many tasks as there are idle
// workers, keeps the in-flight table, sends in_progress for long tasks, enforces deadlines
// and Smith-Not-Before, and ends every attempt in exactly one of: result stored + ack, nak
// (retry), or dead letter stored + term.
#pragma once

#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "transport/connection.hpp"
#include "transport/publisher.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/subjects.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace smith::actors {

/// What the dispatcher does to the world besides acknowledging task messages (those go to each
/// message's ack_sink): it stores results and dead letters, announces started tasks, and tells
/// its fetch thread what it can take. A worker's dispatcher builds the NATS one when it binds
/// its consumer. A test passes its own in dispatcher_config::port and plays the fetch thread
/// and the publisher itself, by sending the dispatcher their messages (deliver_atom,
/// stored_atom, settled_atom): the state machine then runs without a server.
class dispatcher_port {
public:
  virtual ~dispatcher_port() = default;

  /// Publishes `out` without waiting; its outcome comes back as stored_atom with `ref`. An
  /// error means it was not sent (and no stored_atom follows).
  virtual transport::expected<void> store(const transport::outgoing& out, std::uint64_t ref) = 0;

  /// Writes what store() published now rather than with the next coalesced write (see
  /// transport::connection::flush_soon): the dispatcher asks when few stores are under way.
  virtual void flush_soon() = 0;

  /// Waits up to `timeout` until every store has its outcome (at the end of a drain).
  virtual void wait_stored(std::chrono::milliseconds timeout) = 0;

  /// Publishes a core NATS event (`started`).
  virtual void announce(const std::string& subject, const std::string& body) = 0;

  /// The fetch thread's side: see fetcher::set_capacity, fetcher::delivered, fetcher::stop.
  virtual void set_capacity(std::int64_t deliveries) = 0;
  virtual void delivered(const delivery_batch& batch) = 0;
  virtual void stop_fetching() = 0;

  /// The subject on which the server confirms the ack or term of stream sequence `seq`.
  virtual std::string confirm_to(std::uint64_t seq) = 0;
};

struct dispatcher_config {
  std::string role;
  std::string worker_name; ///< written into results: host and pid
  transport::wire::subjects names;
  std::chrono::milliseconds ack_wait{300'000};
  int max_deliver = 3; ///< the last failed attempt goes to the dead-letter stream
  /// nak delay after a failed attempt n (the last entry repeats); empty: redeliver at once.
  std::vector<std::chrono::milliseconds> retry_backoff{std::chrono::milliseconds{1000},
                                                       std::chrono::milliseconds{5000}};
  std::chrono::milliseconds fetch_expiry{1000};
  std::chrono::milliseconds drain_timeout{100'000};
  transport::wire::decode_limits limits;
  std::shared_ptr<transport::connection> conn;
  std::shared_ptr<actors::metrics> stats;
  /// Called with true once the consumer is bound, false when it is lost or draining.
  std::function<void(bool)> on_ready;
  /// Set by tests only: the dispatcher uses it instead of binding to NATS (`conn` unused).
  std::shared_ptr<dispatcher_port> port;
};

/// Spawns the dispatcher (detached: it has its own thread) from its supervisor.
caf::actor spawn_dispatcher(caf::local_actor* parent, const dispatcher_config& cfg);

} // namespace smith::actors
