// The streams and durable consumers of a deployment, declared as data and applied
// idempotently: created when missing, updated where the server allows it, and otherwise a
// clear error naming the field that conflicts.
#pragma once

#include "transport/config.hpp"
#include "transport/expected.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace smith::transport {

class connection;

enum class retention : std::uint8_t { limits, work_queue };

struct stream_spec {
  std::string name;
  std::vector<std::string> subjects;
  transport::retention retention = retention::limits;
  int replicas = 1;
  std::chrono::milliseconds max_age{0}; ///< 0: keep forever
  std::int64_t max_msgs = -1;           ///< -1: no cap
  bool discard_new = false;             ///< at max_msgs, refuse new messages (never drop old)
  std::int32_t max_msg_size = -1;
  std::chrono::milliseconds duplicate_window{120'000};
  bool allow_direct = false; ///< direct get (read the last message of a subject cheaply)
  /// Message schedules (nats-server 2.12+, ADR-51): delayed tasks wait in the stream. Once on,
  /// the server never turns it off; it cannot go with discard_new.
  bool allow_msg_schedules = false;
  std::int64_t max_msgs_per_subject = -1; ///< -1: no cap; at the cap the oldest goes
};

struct consumer_spec {
  std::string stream;
  std::string durable;
  std::string filter_subject;
  std::chrono::milliseconds ack_wait{300'000};
  int max_deliver = 3;
  std::vector<std::chrono::milliseconds> backoff;
  int max_ack_pending = 1000;
};

struct topology {
  std::vector<stream_spec> streams;
  std::vector<consumer_spec> consumers;
};

/// The streams SMITH_TASKS, SMITH_RESULTS, SMITH_DLQ and one consumer role-<role> per role.
topology declare(const topology_config& cfg);

/// Whether the tasks stream of `cfg` holds delayed tasks as message schedules: yes unless
/// SMITH_MAX_TASKS caps it (nats-server refuses schedules on a stream that discards new).
bool has_schedules(const topology_config& cfg) noexcept;

/// What apply did to one stream or consumer.
struct applied {
  enum class change : std::uint8_t {
    created,
    updated,
    unchanged,
    /// Exists and differs in `fields`, left as it is (apply_mode::create_only).
    drifted,
  };
  std::string kind; ///< "stream" or "consumer"
  std::string name; ///< SMITH_TASKS, or SMITH_TASKS/role-compile
  change what = change::unchanged;
  std::vector<std::string> fields; ///< the fields an update changed
};

enum class apply_mode : std::uint8_t {
  /// Create what is missing and update what differs: `smith topology apply`, a deploy step.
  update,
  /// Create what is missing, never change what exists. Services starting up use it: a rolling
  /// deploy whose old and new tasks read different settings must not flip the live consumer
  /// back and forth. What differs is reported as drifted.
  create_only,
};

/// Makes the server match `t`. Streams first, then consumers. Stops at the first error; a
/// field that cannot change in place is an error in both modes.
expected<std::vector<applied>> apply(const connection& conn, const topology& t,
                                     apply_mode mode = apply_mode::update);

} // namespace smith::transport
