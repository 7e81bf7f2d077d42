#include "actors/worker.hpp"

#include "actors/messages.hpp"

#include <exception>

namespace smith::actors {

namespace {

// Runs one job with its handler; a throw becomes a failed attempt marked handler_threw.
// Progress goes to the task's subscribers and to the dispatcher, which answers task pings with
// it (only handlers that report progress pay for it).
job_done run_job(caf::actor_system& sys, const worker_config& cfg, const job& j) {
  job_done done;
  done.seq = j.seq;
  const auto& t = *j.task;
  task_context ctx{t, j.attempt, *j.cancelled, [&sys, &cfg, &t, &j](int pct, std::string_view msg) {
                     if (cfg.progress)
                       cfg.progress(t.id, pct, msg);
                     if (auto d = sys.registry().get(dispatcher_atom::value))
                       caf::anon_send(caf::actor_cast<caf::actor>(d), progress_atom::value, j.seq,
                                      j.attempt, pct, std::string{msg});
                   }};
  const auto* entry = cfg.registry->find(t.type);
  if (entry == nullptr) {
    done.result = outcome::failure("no handler for task type \"" + t.type + "\"", "unknown_type");
    return done;
  }
  std::string crash;
  try {
    done.result = entry->fn(ctx);
  } catch (const std::exception& e) {
    crash = e.what();
  } catch (...) {
    crash = "unknown exception";
  }
  if (!crash.empty()) {
    done.handler_threw = true;
    done.result = outcome::retry_later("handler threw: " + crash, "handler_crash");
  }
  return done;
}

// A blocking handler's thread: the worker hands it the job and waits for the answer, so the
// worker itself stays on CAF's scheduler. Linked to its worker: they live and die together.
caf::behavior runner_behavior(caf::event_based_actor* self, const worker_config& cfg) {
  return {
    [self, cfg](run_atom, const job& j) -> job_done { return run_job(self->system(), cfg, j); },
  };
}

struct worker_state {
  // Not an aggregate, on purpose: CAF 0.17 constructs a state as `State(self)` when it can, and
  // C++20's parenthesized aggregate initialization would then set `runner` to the worker
  // itself, so blocking jobs went to the worker instead of a runner.
  worker_state() = default;

  caf::actor runner; // spawned at the first blocking job
  static inline const char* name = "smith.worker";
};

using worker_actor = caf::stateful_actor<worker_state>;

void report(worker_actor* self, job_done done) {
  bool threw = done.handler_threw;
  std::string why = threw ? done.result.error : std::string{};
  auto d = caf::actor_cast<caf::actor>(self->system().registry().get(dispatcher_atom::value));
  if (d)
    self->send(d, done_atom::value, std::move(done));
  // A throw may have left the handler's state broken: the supervisor starts a fresh worker.
  if (threw)
    self->quit(caf::make_error(caf::sec::runtime_error, why));
}

caf::behavior worker_behavior(worker_actor* self, const worker_config& cfg) {
  auto dispatcher =
    caf::actor_cast<caf::actor>(self->system().registry().get(dispatcher_atom::value));
  if (dispatcher)
    self->send(dispatcher, register_atom::value, caf::actor_cast<caf::actor>(self));
  return {
    [self, cfg](run_atom, const job& j) {
      const auto* entry = cfg.registry->find(j.task->type);
      if (entry == nullptr || !entry->options.blocking) {
        report(self, run_job(self->system(), cfg, j));
        return;
      }
      auto& runner = self->state.runner;
      if (!runner)
        runner = self->spawn<caf::detached + caf::linked>(runner_behavior, cfg);
      self->request(runner, caf::infinite, run_atom::value, j)
        .then([self](job_done& done) { report(self, std::move(done)); },
              [self](caf::error& err) {
                // The runner died without an answer: so does this worker, and the dispatcher
                // sees a busy worker go down and hands the task back.
                self->quit(std::move(err));
              });
    },
  };
}

} // namespace

caf::actor spawn_worker(caf::local_actor* parent, const worker_config& cfg) {
  // Workers live on CAF's scheduler; only blocking handlers get a thread (the runner).
  return parent->spawn(worker_behavior, cfg);
}

} // namespace smith::actors
