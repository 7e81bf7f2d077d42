// The worker actor without NATS: a stand-in dispatcher hands it jobs and collects what comes
// back, for handlers that run inline and for blocking ones that run on the worker's runner.
#include "actors/messages.hpp"
#include "actors/worker.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace smith::actors;
using namespace std::chrono_literals;

namespace {

job make_job(std::uint64_t seq, const std::string& type) {
  auto t = std::make_shared<smith::transport::wire::task>();
  t->id = "t-" + std::to_string(seq);
  t->type = type;
  t->payload = "p" + std::to_string(seq);
  return job{seq, t, 1, std::make_shared<std::atomic<bool>>(false)};
}

// Plays the dispatcher: registers under dispatcher_atom, waits for the worker's register
// message, hands it `jobs` one at a time, and returns what came back in order.
std::vector<job_done> run_jobs(caf::actor_system& sys, const handler_registry& reg,
                               const std::vector<job>& jobs) {
  caf::scoped_actor self{sys};
  sys.registry().put(dispatcher_atom::value, caf::actor_cast<caf::strong_actor_ptr>(self));
  worker_config cfg;
  cfg.registry = &reg;
  auto w = self->spawn([cfg](caf::event_based_actor* parent) -> caf::behavior {
    auto a = spawn_worker(parent, cfg);
    parent->link_to(a);
    return {[](int) {}};
  });
  caf::actor worker;
  self->receive([&](register_atom, caf::actor a) { worker = a; },
                caf::after(10s) >> [] { FAIL("the worker did not register"); });
  std::vector<job_done> out;
  for (const auto& j : jobs) {
    self->send(worker, run_atom::value, j);
    self->receive([&](done_atom, job_done& d) { out.push_back(std::move(d)); },
                  caf::after(10s) >> [] { FAIL("no answer from the worker"); });
  }
  sys.registry().erase(dispatcher_atom::value);
  self->send_exit(w, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace

TEST_CASE("a worker runs inline and blocking handlers and reports each outcome") {
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  handler_registry reg;
  reg.add("inline", [](task_context& ctx) { return outcome::success(std::string{ctx.payload()}); },
          {.blocking = false});
  reg.add("blocking", [](task_context& ctx) {
    std::this_thread::sleep_for(5ms);
    return outcome::success("slept on " + std::string{ctx.payload()});
  });
  auto done = run_jobs(sys, reg,
                       {make_job(1, "inline"), make_job(2, "blocking"), make_job(3, "blocking"),
                        make_job(4, "inline")});
  REQUIRE(done.size() == 4);
  CHECK(done[0].seq == 1);
  CHECK(done[0].result.output == "p1");
  CHECK(done[1].seq == 2);
  CHECK(done[1].result.what == outcome::kind::succeeded);
  CHECK(done[1].result.output == "slept on p2");
  CHECK(done[2].result.output == "slept on p3");
  CHECK(done[3].result.output == "p4");
}

TEST_CASE("a task type without a handler fails for good with a clear error") {
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  handler_registry reg;
  auto done = run_jobs(sys, reg, {make_job(1, "thumbnail")});
  REQUIRE(done.size() == 1);
  CHECK(done[0].result.what == outcome::kind::fail);
  CHECK(done[0].result.error == "no handler for task type \"thumbnail\"");
}
