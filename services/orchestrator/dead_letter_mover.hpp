// Moves tasks that used up MaxDeliver without an outcome (a worker killed or stuck on every
// attempt) to the dead-letter stream: reads the server's MAX_DELIVERIES advisories through one
// durable consumer that all orchestrator replicas share, copies the original task into
// SMITH_DLQ with the reason and attempts, stores a "dead" result, and removes the task from
// SMITH_TASKS. Exactly once: each advisory goes to one replica, and the dead letter's
// Nats-Msg-Id (dlq-<stream seq>) makes a retry after a crash a no-op.
#pragma once

#include "transport/config.hpp"
#include "transport/connection.hpp"

#include <atomic>
#include <memory>
#include <thread>

namespace smith::services::orchestrator {

class dead_letter_mover {
public:
  dead_letter_mover(std::shared_ptr<transport::connection> conn, transport::topology_config topo);
  ~dead_letter_mover();

  dead_letter_mover(const dead_letter_mover&) = delete;
  dead_letter_mover& operator=(const dead_letter_mover&) = delete;

  /// Whether the advisory consumer is bound (for /ready).
  bool bound() const noexcept {
    return bound_.load();
  }

  std::uint64_t moved() const noexcept {
    return moved_.load();
  }

private:
  void run();

  std::shared_ptr<transport::connection> conn_;
  transport::topology_config topo_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> bound_{false};
  std::atomic<std::uint64_t> moved_{0};
  std::thread thread_;
};

} // namespace smith::services::orchestrator
