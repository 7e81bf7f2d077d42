#include "actors/supervisor.hpp"
#include "support/wait.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>

using namespace smith::actors;
using namespace std::chrono_literals;
using smith::testing::wait_until;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;

// Children announce themselves here when they start, so a test can reach the current
// incarnation of each and count its starts.
struct registry {
  std::mutex mtx;
  std::map<std::string, caf::actor> live;
  std::map<std::string, int> starts;

  int started(const std::string& name) {
    std::lock_guard guard{mtx};
    return starts[name];
  }

  caf::actor get(const std::string& name) {
    std::lock_guard guard{mtx};
    return live[name];
  }
};

child_spec crasher(registry& reg, std::string name) {
  return {name, [&reg, name](caf::local_actor* parent) {
            auto a = parent->spawn([](caf::event_based_actor* self) -> caf::behavior {
              return {[self](crash_atom) {
                self->quit(caf::make_error(caf::sec::runtime_error, "boom"));
              }};
            });
            std::lock_guard guard{reg.mtx};
            reg.live[name] = a;
            ++reg.starts[name];
            return a;
          }};
}

supervisor_config config(registry& reg, restart_strategy s, std::vector<std::string> names) {
  supervisor_config cfg;
  cfg.strategy = s;
  cfg.intensity.backoff_initial = 1ms;
  for (auto& n : names)
    cfg.children.push_back(crasher(reg, n));
  return cfg;
}

void crash(registry& reg, const std::string& name) {
  caf::anon_send(reg.get(name), crash_atom::value);
}

} // namespace

TEST_CASE("one_for_one restarts only the child that died") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  registry reg;
  auto sup = spawn_supervisor(sys, config(reg, restart_strategy::one_for_one, {"a", "b", "c"}));
  REQUIRE(wait_until([&] { return reg.started("c") == 1; }, 5s));
  crash(reg, "b");
  REQUIRE(wait_until([&] { return reg.started("b") == 2; }, 5s));
  CHECK(reg.started("a") == 1);
  CHECK(reg.started("c") == 1);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE("one_for_all restarts every child") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  registry reg;
  auto sup = spawn_supervisor(sys, config(reg, restart_strategy::one_for_all, {"a", "b", "c"}));
  REQUIRE(wait_until([&] { return reg.started("c") == 1; }, 5s));
  crash(reg, "b");
  REQUIRE(wait_until(
    [&] { return reg.started("a") == 2 && reg.started("b") == 2 && reg.started("c") == 2; }, 5s));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE("rest_for_one restarts the child that died and those started after it") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  registry reg;
  auto sup = spawn_supervisor(sys, config(reg, restart_strategy::rest_for_one, {"a", "b", "c"}));
  REQUIRE(wait_until([&] { return reg.started("c") == 1; }, 5s));
  crash(reg, "b");
  REQUIRE(wait_until([&] { return reg.started("b") == 2 && reg.started("c") == 2; }, 5s));
  CHECK(reg.started("a") == 1);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE("past its restart intensity the root supervisor gives up and says why") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  registry reg;
  auto sc = config(reg, restart_strategy::one_for_one, {"a"});
  sc.intensity.max_restarts = 2;
  sc.intensity.period = 60s;
  std::mutex mtx;
  std::string reason;
  sc.on_give_up = [&](const std::string& why) {
    std::lock_guard guard{mtx};
    reason = why;
  };
  auto sup = spawn_supervisor(sys, sc);
  caf::scoped_actor watcher{sys};
  watcher->monitor(sup);
  for (int n = 1; n <= 3; ++n) {
    REQUIRE(wait_until([&] { return reg.started("a") == n; }, 5s));
    crash(reg, "a");
  }
  bool down = false;
  watcher->receive([&](const caf::down_msg& dm) { down = dm.source == sup.address(); },
                   caf::after(10s) >> [] {});
  CHECK(down);
  std::lock_guard guard{mtx};
  CHECK(reason.find("more than 2 restarts") != std::string::npos);
  CHECK(reg.started("a") == 3);
}

TEST_CASE("a nested supervisor that gives up is restarted by its parent") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  registry reg;
  auto inner = config(reg, restart_strategy::one_for_one, {"x"});
  inner.name = "inner";
  inner.intensity.max_restarts = 1;
  inner.intensity.period = 60s;
  supervisor_config outer;
  outer.name = "outer";
  outer.intensity.backoff_initial = 1ms;
  outer.children.push_back(supervisor_child(inner));
  outer.children.push_back(crasher(reg, "sibling"));
  std::atomic<int> outer_restarts{0};
  outer.on_restart = [&](const std::string& child) {
    if (child == "inner")
      ++outer_restarts;
  };
  auto sup = spawn_supervisor(sys, outer);
  REQUIRE(wait_until([&] { return reg.started("x") == 1; }, 5s));
  crash(reg, "x"); // restarted by inner
  REQUIRE(wait_until([&] { return reg.started("x") == 2; }, 5s));
  crash(reg, "x"); // inner gives up; outer restarts inner, which starts x again
  REQUIRE(wait_until([&] { return reg.started("x") == 3 && outer_restarts == 1; }, 5s));
  CHECK(reg.started("sibling") == 1);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}
