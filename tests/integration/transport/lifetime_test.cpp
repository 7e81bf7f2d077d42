// Callbacks and their owners: once a subscription is destroyed, or a connection listener
// removed, the callback is not running and never runs again, so it may capture what its owner
// destroys next (the locals of a request handler, a pull consumer's members).
#include "harness.hpp"

#include "transport/subscription.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

using namespace smith::testing;

namespace {

// How long a destructor that does not wait would take to return, many times over.
constexpr auto returns_at_once = 300ms;

// A callback held inside its call until released.
struct held_call {
  std::atomic<bool> entered{false};
  std::atomic<bool> released{false};

  void hold() {
    entered = true;
    wait_until([&] { return released.load(); }, 20s);
  }
};

} // namespace

TEST_CASE("a subscription's destructor waits for the call in progress; none runs after it") {
  nats_server server;
  auto conn = connect_to(server.url());
  held_call call;
  auto touched = std::make_unique<std::atomic<int>>(0); // dies right after the subscription
  auto* counter = touched.get();
  auto sub = must(tp::subscription::create(conn, "life.sub", [&call, counter](const auto&) {
    call.hold();
    counter->fetch_add(1); // a use after free under ASan if the destructor did not wait
  }));
  must(tp::publish_core(*conn, "life.sub", "1"));
  must(tp::publish_core(*conn, "life.sub", "2"));
  must(conn->flush(5s));
  REQUIRE(wait_until([&] { return call.entered.load(); }, 10s));

  std::atomic<bool> destroyed{false};
  std::thread destroyer{[&] {
    sub.reset();
    destroyed = true;
  }};
  CHECK_FALSE(wait_until([&] { return destroyed.load(); }, returns_at_once));
  call.released = true;
  destroyer.join();
  CHECK(touched->load() == 1); // the second message, queued behind the first, never ran
  touched.reset();

  // More messages after the destruction reach a new subscriber, and nothing else.
  std::atomic<int> later{0};
  auto other = must(tp::subscription::create(conn, "life.sub", [&](const auto&) { ++later; }));
  must(conn->flush(5s));
  for (int i = 0; i < 5; ++i)
    must(tp::publish_core(*conn, "life.sub", "x"));
  must(conn->flush(5s));
  CHECK(wait_until([&] { return later.load() == 5; }, 10s));
}

TEST_CASE("a subscription can be destroyed from its own callback") {
  nats_server server;
  auto conn = connect_to(server.url());
  std::unique_ptr<tp::subscription> sub;
  std::atomic<bool> done{false};
  std::atomic<int> calls{0};
  std::mutex mtx; // orders the assignment of `sub` before the callback's use of it
  {
    std::lock_guard guard{mtx};
    sub = must(tp::subscription::create(conn, "life.self", [&](const auto&) {
      ++calls;
      std::lock_guard inner{mtx};
      sub.reset(); // must not wait for itself
      done = true;
    }));
  }
  must(tp::publish_core(*conn, "life.self", "1"));
  must(tp::publish_core(*conn, "life.self", "2"));
  must(conn->flush(5s));
  REQUIRE(wait_until([&] { return done.load(); }, 10s));
  must(conn->flush(5s));
  CHECK(calls.load() == 1);
}

TEST_CASE("remove_listener waits for the listener in progress; a listener may remove itself") {
  nats_server server;
  auto conn = connect_to(server.url());
  held_call call;
  auto token = conn->add_listener([&](const tp::connection_event& ev) {
    if (ev.kind == tp::connection_event_kind::disconnected)
      call.hold();
  });
  std::atomic<std::uint64_t> self_token{0};
  std::atomic<int> self_calls{0};
  self_token = conn->add_listener([&](const tp::connection_event&) {
    ++self_calls;
    conn->remove_listener(self_token.load()); // from inside: no deadlock
  });

  server.kill();
  REQUIRE(wait_until([&] { return call.entered.load(); }, 10s));
  std::atomic<bool> removed{false};
  std::thread remover{[&] {
    conn->remove_listener(token);
    removed = true;
  }};
  CHECK_FALSE(wait_until([&] { return removed.load(); }, returns_at_once));
  call.released = true;
  remover.join();
  CHECK(removed.load());

  // The connection's next events find neither listener.
  server.start();
  REQUIRE(wait_until([&] { return conn->connected(); }, 15s));
  conn->close();
  CHECK(self_calls.load() == 1);
}
