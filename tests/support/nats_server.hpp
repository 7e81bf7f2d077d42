// A real nats-server process for integration tests: its own ports, directory, config file and
// log, started, killed and restarted by the test. See nats_cluster.hpp for several of them.
#pragma once

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace smith::testing {

/// How often a server (or a cluster) is started on fresh ports before giving up.
inline constexpr int max_start_attempts = 5;

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close). Never
/// returns the same port twice in one process, so the ports of one fixture differ. Another
/// process may still take it before the server binds it; nats_server retries for that.
int free_port();

/// Thrown when the server cannot bind a port the caller fixed in server_options; a port the
/// fixture picked itself is replaced and the start retried instead.
class port_in_use : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// What the generated config file holds. A port of 0 means "pick a free one".
struct server_options {
  /// Turns on JetStream, stored in the server's own directory.
  bool jetstream = true;
  /// server_name; empty picks one unique in this process ("smith-<n>").
  std::string name;
  /// Non-empty turns on clustering: cluster { name, listen, routes }.
  std::string cluster_name;
  /// The route listen port (cluster mode only).
  int cluster_port = 0;
  /// Route ports of the peers on 127.0.0.1. Listing the server's own port is fine: the
  /// server recognises and ignores a route to itself, so every node can get the same list.
  std::vector<int> routes;
  /// The client port.
  int port = 0;
  /// The HTTP monitoring port.
  int monitor_port = 0;
  /// Appended verbatim to the generated config, e.g. "max_payload: 4MB".
  std::string extra_config;
  /// Whether the constructor and start() wait for GET /healthz to answer 200. A clustered
  /// JetStream node answers 503 until it has reached a meta leader, which needs a quorum of
  /// its peers running, so nats_cluster starts its nodes without it and waits itself.
  bool wait_healthy = true;
  /// How long a start may take before it fails.
  std::chrono::milliseconds start_timeout{20000};
};

class nats_server {
public:
  // -- constructors, destructors, and assignment operators ------------------------------------

  /// Starts the server and waits until it listens on all its ports and, with
  /// `options.wait_healthy`, until /healthz answers 200. Throws std::runtime_error (with the
  /// last lines of the server log) if it does not, and port_in_use for a fixed port in use.
  explicit nats_server(server_options options = {});

  /// Kills the server if it runs, waits for it and removes its directory.
  ~nats_server();

  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  // -- properties -----------------------------------------------------------------------------

  /// "nats://127.0.0.1:<port>".
  std::string url() const;

  int port() const noexcept {
    return options_.port;
  }

  int monitor_port() const noexcept {
    return options_.monitor_port;
  }

  /// The route port, 0 unless clustered.
  int cluster_port() const noexcept {
    return options_.cluster_port;
  }

  /// The server_name, which /jsz reports as meta leader.
  const std::string& name() const noexcept {
    return options_.name;
  }

  /// The server's own directory: config file, log and JetStream store (under jetstream/).
  const std::filesystem::path& store_dir() const noexcept {
    return dir_.path();
  }

  std::filesystem::path config_file() const;

  std::filesystem::path log_file() const;

  /// Whether the process runs (it is reaped here if it has died on its own).
  bool running();

  /// The process id, -1 when not running.
  pid_t pid() const noexcept {
    return process_.pid();
  }

  /// Whether all its threads are stopped (after SIGSTOP).
  bool stopped() const {
    return process_.stopped();
  }

  // -- starting and stopping ------------------------------------------------------------------

  /// Starts the server again on the same ports, directory and config, and waits as the
  /// constructor does. No port retry here: a restart must keep its address. Throws
  /// std::logic_error if it runs already.
  void start();

  /// SIGKILL: no shutdown, no flush, as in a crash.
  void kill();

  /// SIGTERM, then SIGKILL if the server has not exited within `grace`. Returns whether it
  /// exited within `grace`.
  bool stop(std::chrono::milliseconds grace = std::chrono::milliseconds{10000});

  // -- monitoring -----------------------------------------------------------------------------

  /// GET `path` (e.g. "/jsz") on the monitoring port: the body as JSON whatever the status,
  /// or nullopt if the server does not answer or the body is not JSON.
  std::optional<nlohmann::json> monitor(std::string_view path) const;

  /// Whether GET /healthz answers 200.
  bool healthy() const;

  /// Waits until healthy() or throws std::runtime_error with the log tail after `deadline`.
  void wait_healthy(std::chrono::milliseconds deadline);

  /// The last `lines` lines of the server log (stdout and stderr of all its runs).
  std::string log_tail(int lines = 30) const;

private:
  // Spawns the process and waits until it is ready. Returns false if it died because a port
  // was in use (the log says so), throws for any other failure.
  bool launch();

  // Picks free ports for those not fixed by the caller.
  void pick_ports();

  void write_config() const;

  // Throws std::runtime_error: "nats-server <what> (<exit>); last lines of <log>: ...".
  [[noreturn]] void fail(const std::string& what);

  // Which ports the caller fixed, so a retry only replaces the others.
  bool fixed_port_;
  bool fixed_monitor_port_;
  bool fixed_cluster_port_;
  server_options options_;
  std::string executable_;
  temp_dir dir_;
  child_process process_;
};

} // namespace smith::testing
