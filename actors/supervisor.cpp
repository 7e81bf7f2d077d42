#include "actors/supervisor.hpp"

#include "actors/log.hpp"

#include <algorithm>
#include <deque>

namespace smith::actors {

using restart_atom = caf::atom_constant<caf::atom("restart")>;
using clock_type = std::chrono::steady_clock;

std::string_view to_string(restart_strategy s) noexcept {
  switch (s) {
    case restart_strategy::one_for_one:
      return "one_for_one";
    case restart_strategy::one_for_all:
      return "one_for_all";
    case restart_strategy::rest_for_one:
      return "rest_for_one";
  }
  return "unknown";
}

namespace {

struct supervisor_state {
  supervisor_config cfg;
  // Shared with the exit hook, which runs after the state is gone. A slot is invalid while
  // its child waits for its restart.
  std::shared_ptr<std::vector<caf::actor>> handles = std::make_shared<std::vector<caf::actor>>();
  std::vector<caf::actor>& children = *handles;
  std::deque<clock_type::time_point> restarts;
  bool giving_up = false;
  static inline const char* name = "smith.supervisor";
};

using supervisor_actor = caf::stateful_actor<supervisor_state>;

void start_child(supervisor_actor* self, std::size_t i) {
  auto& st = self->state;
  auto child = st.cfg.children[i].start(self);
  self->monitor(child);
  st.children[i] = std::move(child);
}

std::chrono::milliseconds backoff(const restart_intensity& in, std::size_t recent) {
  auto delay = in.backoff_initial;
  for (std::size_t i = 1; i < recent && delay < in.backoff_max; ++i)
    delay *= 2;
  return std::min(delay, in.backoff_max);
}

void give_up(supervisor_actor* self, const std::string& reason) {
  auto& st = self->state;
  st.giving_up = true;
  SMITH_LOG(log(), error, "supervisor_gave_up", {"error_type", "restart_intensity"},
            {"supervisor", st.cfg.name}, {"reason", reason});
  if (st.cfg.on_give_up)
    st.cfg.on_give_up(reason);
  self->quit(caf::make_error(caf::sec::runtime_error, st.cfg.name + ": " + reason));
}

void on_child_down(supervisor_actor* self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = std::find_if(st.children.begin(), st.children.end(),
                         [&](const caf::actor& c) { return c && c.address() == dm.source; });
  if (it == st.children.end() || st.giving_up)
    return;
  auto i = static_cast<std::size_t>(it - st.children.begin());
  const auto& child_name = st.cfg.children[i].name;
  if (dm.reason == caf::exit_reason::normal) {
    // A child that finished its work (a drained dispatcher) is not restarted.
    *it = caf::actor{};
    return;
  }
  auto now = clock_type::now();
  st.restarts.push_back(now);
  while (!st.restarts.empty() && now - st.restarts.front() > st.cfg.intensity.period)
    st.restarts.pop_front();
  if (static_cast<int>(st.restarts.size()) > st.cfg.intensity.max_restarts) {
    give_up(self, "child " + child_name + " died (" + self->system().render(dm.reason)
                    + "); more than " + std::to_string(st.cfg.intensity.max_restarts)
                    + " restarts in " + std::to_string(st.cfg.intensity.period.count()) + " ms");
    return;
  }
  // The children to restart, in start order; the live ones among them are stopped first and
  // no longer watched, so their exits do not count as crashes.
  std::size_t first = i;
  std::size_t last = i;
  if (st.cfg.strategy == restart_strategy::one_for_all) {
    first = 0;
    last = st.children.size() - 1;
  } else if (st.cfg.strategy == restart_strategy::rest_for_one) {
    last = st.children.size() - 1;
  }
  std::vector<std::size_t> which;
  for (std::size_t j = first; j <= last; ++j) {
    if (j != i && st.children[j]) {
      self->demonitor(st.children[j]);
      self->send_exit(st.children[j], caf::exit_reason::user_shutdown);
    }
    st.children[j] = caf::actor{};
    which.push_back(j);
  }
  auto delay = backoff(st.cfg.intensity, st.restarts.size());
  SMITH_LOG(log(), warn, "child_restart", {"supervisor", st.cfg.name}, {"child", child_name},
            {"strategy", to_string(st.cfg.strategy)}, {"reason", self->system().render(dm.reason)},
            {"delay_ms", delay.count()});
  self->delayed_send(self, delay, restart_atom::value, which);
}

caf::behavior supervisor_behavior(supervisor_actor* self, supervisor_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.children.resize(st.cfg.children.size());
  for (std::size_t i = 0; i < st.children.size(); ++i)
    start_child(self, i);
  self->set_down_handler([self](caf::down_msg& dm) { on_child_down(self, dm); });
  // Children die with their supervisor, whatever the reason.
  self->attach_functor([handles = st.handles](const caf::error&) {
    for (auto& c : *handles)
      if (c)
        caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  });
  return {
    [self](restart_atom, const std::vector<std::size_t>& which) {
      auto& st = self->state;
      if (st.giving_up)
        return;
      for (auto j : which) {
        start_child(self, j);
        if (st.cfg.on_restart)
          st.cfg.on_restart(st.cfg.children[j].name);
      }
    },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg) {
  return sys.spawn(supervisor_behavior, std::move(cfg));
}

child_spec supervisor_child(supervisor_config cfg) {
  auto name = cfg.name;
  return {std::move(name), [cfg = std::move(cfg)](caf::local_actor* parent) {
            return parent->spawn(supervisor_behavior, cfg);
          }};
}

} // namespace smith::actors
