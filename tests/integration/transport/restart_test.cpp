#include "harness.hpp"

#include <set>

using namespace smith::testing;

TEST_CASE("the server killed and restarted mid-stream on the same port and store loses nothing") {
  single_server s;
  constexpr int n = 400;
  for (int i = 0; i < n / 2; ++i)
    s.publish(make_task("k-" + std::to_string(i)));
  auto c = s.consumer();
  std::set<std::string> done;
  auto drain_some = [&](std::size_t until) {
    while (done.size() < until) {
      auto batch = c->fetch(16, 1s);
      if (!batch) {
        REQUIRE_MESSAGE(batch.error().retryable(), batch.error().to_string());
        continue;
      }
      for (auto& m : *batch) {
        auto t = must(tp::wire::decode_task(m.data()));
        if (m.ack_sync(2s))
          done.insert(t.id);
      }
    }
  };
  drain_some(n / 4);
  s.server.kill();
  s.server.start();
  // Publishing resumes once the client is back; retryable errors are retried.
  for (int i = n / 2; i < n; ++i) {
    auto msg = must(tp::task_message(s.names, "test", make_task("k-" + std::to_string(i))));
    tp::expected<tp::publish_ack> r = s.pub->publish(msg, 2s);
    REQUIRE(wait_until(
      [&] {
        if (r)
          return true;
        REQUIRE_MESSAGE(r.error().retryable(), r.error().to_string());
        r = s.pub->publish(msg, 2s);
        return r.has_value();
      },
      30s, 0ms));
  }
  drain_some(n);
  CHECK(done.size() == n);
  // Deliveries whose acks died with the old server come again (at least once): acking them
  // empties the consumer.
  CHECK(wait_until(
    [&] {
      if (auto batch = c->fetch(16, 200ms))
        for (auto& m : *batch)
          (void)m.ack_sync(2s);
      auto info = c->info();
      return info && info->num_pending == 0 && info->num_ack_pending == 0;
    },
    30s, 0ms));
}
