// A supervisor actor on CAF 0.17, which has none: children started in order, restarted by
// strategy (one_for_one, one_for_all, rest_for_one) within a restart intensity (at most R
// restarts in T, with exponential backoff between them). Past that bound it gives up: as a
// child it exits with an error, so its own supervisor sees a crash; at the root it calls
// on_give_up, and the process reports unhealthy and exits (ECS replaces the task).
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace smith::actors {

enum class restart_strategy : std::uint8_t {
  /// Restart only the child that died.
  one_for_one,
  /// Restart every child (the others are stopped first).
  one_for_all,
  /// Restart the child that died and every child started after it.
  rest_for_one,
};

std::string_view to_string(restart_strategy s) noexcept;

struct restart_intensity {
  int max_restarts = 5;                     ///< R
  std::chrono::milliseconds period{10'000}; ///< T
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{5'000};
};

/// How to start one child. `start` spawns it (from the supervisor, so it may spawn linked or
/// detached actors as it needs) and returns its handle.
struct child_spec {
  std::string name;
  std::function<caf::actor(caf::local_actor* supervisor)> start;
};

struct supervisor_config {
  std::string name = "supervisor";
  restart_strategy strategy = restart_strategy::one_for_one;
  restart_intensity intensity;
  std::vector<child_spec> children;
  /// Called once when the intensity is exceeded; only the root sets it. When empty, the
  /// supervisor exits with an error and its own supervisor decides.
  std::function<void(const std::string& reason)> on_give_up;
  /// Called after each restart of a child, with its name (for metrics).
  std::function<void(const std::string& child)> on_restart;
};

/// Spawns a supervisor at the root of an actor system.
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg);

/// A child spec that starts a nested supervisor.
child_spec supervisor_child(supervisor_config cfg);

} // namespace smith::actors
