// The dispatcher of one role: owns the pull consumer (on a fetch thread of its own, so no
// nats.c call blocks a CAF scheduler thread), fetches only as many tasks as there are idle
// workers, keeps the in-flight table, sends in_progress for long tasks, enforces deadlines
// and Smith-Not-Before, and ends every attempt in exactly one of: result stored + ack, nak
// (retry), or dead letter stored + term.
#pragma once

#include "actors/metrics.hpp"
#include "transport/connection.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/subjects.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace smith::actors {

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
};

/// Spawns the dispatcher (detached: it has its own thread) from its supervisor.
caf::actor spawn_dispatcher(caf::local_actor* parent, const dispatcher_config& cfg);

} // namespace smith::actors
