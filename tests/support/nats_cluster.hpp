// Several nats-server processes clustered over routes on loopback with JetStream, for tests of
// replication, leader changes and node failures.
#pragma once

#include "support/nats_server.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace smith::testing {

class nats_cluster {
public:
  // -- constructors, destructors, and assignment operators ------------------------------------

  /// Starts `size` JetStream nodes named "<name>-0", "<name>-1", ... in cluster `name`, each
  /// with routes to all, and waits until wait_ready(). Throws std::runtime_error with the
  /// log tails of all nodes if they do not get there.
  explicit nats_cluster(std::size_t size = 3, const std::string& name = "smith");

  nats_cluster(const nats_cluster&) = delete;
  nats_cluster& operator=(const nats_cluster&) = delete;

  // -- properties -----------------------------------------------------------------------------

  nats_server& node(std::size_t index) {
    return *nodes_.at(index);
  }

  std::size_t size() const noexcept {
    return nodes_.size();
  }

  /// The client URLs of all nodes, running or not, comma-separated as nats.c's
  /// natsConnection_ConnectTo() and natsOptions_SetURL() take them.
  std::string urls() const;

  /// The index of the JetStream meta leader if every running node is healthy, reports the
  /// same leader, and that leader runs; nullopt otherwise.
  std::optional<std::size_t> leader();

  // -- waiting --------------------------------------------------------------------------------

  /// Waits until leader() is known, the leader sees every other running node as current, and
  /// so a stream with as many replicas as running nodes can be placed. Throws
  /// std::runtime_error with what each node reports and its log tail after `deadline`.
  void wait_ready(std::chrono::milliseconds deadline = std::chrono::milliseconds{30000});

  // -- failures -------------------------------------------------------------------------------

  /// SIGKILL to node `index`.
  void kill(std::size_t index);

  /// SIGTERM to node `index` (SIGKILL after 10 s).
  void stop(std::size_t index);

  /// Starts node `index` again on its ports and store, waits until it listens and then, if a
  /// majority of nodes runs (else no meta leader is possible), until wait_ready().
  void start(std::size_t index);

private:
  // One attempt at starting all nodes; throws port_in_use if a route port was taken.
  void launch(const std::string& name, std::size_t size);

  // True if the meta leader is `leader` and lists every other running node as current.
  bool leader_sees_all(std::size_t leader);

  std::string describe();

  std::vector<std::unique_ptr<nats_server>> nodes_;
};

} // namespace smith::testing
