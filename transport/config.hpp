// Transport configuration: plain structs with defaults, filled from SMITH_* environment
// variables by free parse functions (flags override them in services/). docs/CONFIG.md lists all.
#pragma once

#include "transport/expected.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smith::transport {

using std::chrono::milliseconds;

/// How to reach NATS and how to behave when it goes away.
struct connection_config {
  std::vector<std::string> servers{"nats://127.0.0.1:4222"}; ///< SMITH_NATS_URL, comma-separated
  std::string name = "smith";                                ///< SMITH_NATS_NAME
  std::string user;                                          ///< SMITH_NATS_USER
  std::string password;                                      ///< SMITH_NATS_PASSWORD
  std::string token;                                         ///< SMITH_NATS_TOKEN
  std::string credentials_file;                              ///< SMITH_NATS_CREDS
  std::string credentials_data;                              ///< SMITH_NATS_CREDS_DATA
  std::string tls_ca;                                        ///< SMITH_NATS_TLS_CA
  std::string tls_cert;                                      ///< SMITH_NATS_TLS_CERT
  std::string tls_key;                                       ///< SMITH_NATS_TLS_KEY
  std::string tls_key_data;                                  ///< SMITH_NATS_TLS_KEY_DATA
  milliseconds connect_timeout{2000};                        ///< SMITH_NATS_CONNECT_TIMEOUT
  milliseconds reconnect_wait{100};      ///< SMITH_NATS_RECONNECT_WAIT: first backoff step
  milliseconds reconnect_wait_max{5000}; ///< SMITH_NATS_RECONNECT_WAIT_MAX: backoff cap
  milliseconds reconnect_jitter{200};    ///< SMITH_NATS_RECONNECT_JITTER: random extra delay
  milliseconds request_timeout{5000};    ///< SMITH_NATS_REQUEST_TIMEOUT: JetStream API calls
  /// Keep trying when the first connect fails (services: yes; a one-shot CLI: no).
  bool retry_on_failed_connect = true;
  /// How publishes reach the socket. false: each one is written when it is made (services that
  /// answer one request at a time: the orchestrator, the CLI). true: nats.c gathers writes for
  /// up to a millisecond, and the owner calls connection::flush_soon() for a write that should
  /// not wait: the worker flushes at once when it is idle and coalesces when it is busy. Set by
  /// the program, not by configuration: neither setting is a trade-off left to the user.
  bool coalesce_writes = false;
};

/// The streams and consumers of one deployment (see docs/WIRE.md).
struct topology_config {
  std::string prefix = "smith";           ///< SMITH_PREFIX: subject prefix, also names streams
  int replicas = 1;                       ///< SMITH_REPLICAS: 1, or 3 on a cluster
  milliseconds ack_wait{300'000};         ///< SMITH_ACK_WAIT: the visibility timeout
  int max_deliver = 3;                    ///< SMITH_MAX_DELIVER: attempts before dead (-1: no cap)
  std::vector<milliseconds> backoff;      ///< SMITH_BACKOFF: redelivery delays, e.g. "10s,1m"
  int max_ack_pending = 1000;             ///< SMITH_MAX_ACK_PENDING: fleet-wide in-flight cap
  milliseconds duplicate_window{120'000}; ///< SMITH_DUPLICATE_WINDOW: Nats-Msg-Id dedup window
  std::int32_t max_msg_bytes = 1024 * 1024; ///< SMITH_MAX_MSG_BYTES: largest task body
  std::int64_t max_tasks = -1; ///< SMITH_MAX_TASKS: queued tasks cap (-1: none); full = reject
  milliseconds results_max_age{86'400'000};                        ///< SMITH_RESULTS_MAX_AGE
  milliseconds dlq_max_age{14 * 86'400'000LL};                     ///< SMITH_DLQ_MAX_AGE
  std::vector<std::string> roles{"compile", "analyze", "execute"}; ///< SMITH_ROLES
};

/// Looks a variable up; returns nothing when it is not set.
using env_lookup = std::function<std::optional<std::string>(std::string_view)>;

/// Reads the process environment.
env_lookup process_env();

/// Parses "250ms", "30s", "2m", "1h", "14d" (also "1m30s"). A bare number is refused: the unit
/// is part of the value.
expected<milliseconds> parse_duration(std::string_view text);

/// Fills a connection_config from SMITH_NATS_* variables; unset ones keep their defaults.
expected<connection_config> parse_connection_config(const env_lookup& env);

/// Fills a topology_config from SMITH_* variables; unset ones keep their defaults.
expected<topology_config> parse_topology_config(const env_lookup& env);

/// How long after a task message is first delivered the server may still redeliver it:
/// AckWait × MaxDeliver, or the sum of the BackOff steps over MaxDeliver deliveries (the last
/// step repeats). Results and dead letters dedup over at least this long, so that a redelivery
/// of an attempt whose result was stored but never acked stores nothing twice.
milliseconds redelivery_horizon(const topology_config& cfg);

/// "2m", "1h30m", "1500ms": a duration as the settings write it.
std::string duration_text(milliseconds d);

/// Checks the values against each other and against what the server accepts.
expected<void> validate(const connection_config& cfg);
expected<void> validate(const topology_config& cfg);

} // namespace smith::transport
