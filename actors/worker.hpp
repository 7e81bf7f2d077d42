// A worker actor: runs one task at a time with the handler registered for its type, inline when
// the handler does not block, on a thread of its own when it does. A handler that throws is a
// failed attempt, reported to the dispatcher, after which the worker exits with an error so
// its supervisor restarts it with fresh state.
#pragma once

#include "actors/handler_registry.hpp"

#include <caf/all.hpp>

#include <functional>
#include <string>

namespace smith::actors {

struct worker_config {
  const handler_registry* registry = nullptr;
  /// Sends progress of task `id` to its subscribers; may be empty.
  std::function<void(const std::string& id, int percent, std::string_view message)> progress;
};

/// Spawns a worker from its supervisor; it registers with the dispatcher on start. Workers run
/// on CAF's scheduler; a worker runs blocking handlers on a linked detached actor of its own
/// (a thread), spawned at its first blocking task.
caf::actor spawn_worker(caf::local_actor* parent, const worker_config& cfg);

} // namespace smith::actors
