#include "harness.hpp"

#include "support/nats_cluster.hpp"

#include <set>

using namespace smith::testing;

TEST_CASE("an R3 stream keeps accepting and serving tasks with one node killed") {
  nats_cluster cluster{3};
  cluster.wait_ready();
  auto conn = connect_to(cluster.urls());
  auto cfg = test_topology();
  cfg.replicas = 3;
  cfg.ack_wait = 5s;
  // Right after the meta leader is known, stream placement can still say "no quorum": retry.
  tp::expected<std::vector<tp::applied>> applied = tp::apply(*conn, tp::declare(cfg));
  REQUIRE(wait_until(
    [&] {
      if (!applied)
        applied = tp::apply(*conn, tp::declare(cfg));
      return applied.has_value();
    },
    30s, 200ms));
  tp::wire::subjects names;
  auto pub = must(tp::publisher::create(conn, {}));
  auto publish = [&](const std::string& id) {
    auto msg = must(tp::task_message(names, "test", make_task(id)));
    auto r = pub->publish(msg, 2s);
    REQUIRE(wait_until(
      [&] {
        if (r)
          return true;
        REQUIRE_MESSAGE(r.error().retryable(), r.error().to_string());
        r = pub->publish(msg, 2s);
        return r.has_value();
      },
      60s, 0ms));
  };
  for (int i = 0; i < 50; ++i)
    publish("c-" + std::to_string(i));
  auto c = must(tp::pull_consumer::bind(conn, names.tasks_stream(), "role-test"));
  std::set<std::string> done;
  auto drain = [&](std::size_t until) {
    REQUIRE(wait_until(
      [&] {
        auto batch = c->fetch(10, 1s);
        if (!batch) {
          REQUIRE_MESSAGE(batch.error().retryable(), batch.error().to_string());
          return false;
        }
        for (auto& m : *batch)
          if (m.ack_sync(2s))
            done.insert(must(tp::wire::decode_task(m.data())).id);
        return done.size() >= until;
      },
      60s, 0ms));
  };
  drain(25);
  // Kill the node the client is connected to: the client must move and the stream must
  // elect a new leader if that node led it.
  std::size_t victim = 0;
  for (std::size_t i = 0; i < cluster.size(); ++i)
    if (cluster.node(i).url() == conn->connected_url())
      victim = i;
  cluster.kill(victim);
  for (int i = 50; i < 100; ++i)
    publish("c-" + std::to_string(i));
  drain(100);
  CHECK(done.size() == 100);
}
