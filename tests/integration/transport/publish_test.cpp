#include "harness.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace smith::testing;

TEST_CASE("the same task id published twice is stored once") {
  single_server s;
  auto first = s.publish(make_task("dup-1"));
  auto second = s.publish(make_task("dup-1"));
  CHECK_FALSE(first.duplicate);
  CHECK(second.duplicate);
  CHECK(second.sequence == first.sequence);
  auto info = must(s.consumer()->info());
  CHECK(info.num_pending == 1);
}

TEST_CASE("asynchronous publishes each report their own outcome") {
  single_server s;
  std::mutex mtx;
  std::set<std::string> acked;
  std::set<std::string> failed;
  std::set<std::uint64_t> refs;
  auto pub = must(
    tp::publisher::create(s.conn, {}, [&](std::uint64_t ref, std::string_view id, const auto& r) {
      std::lock_guard guard{mtx};
      (r ? acked : failed).insert(std::string{id});
      refs.insert(ref);
    }));
  constexpr int n = 500;
  for (int i = 0; i < n; ++i)
    must(pub->publish_async(
      must(tp::task_message(s.names, "test", make_task("a-" + std::to_string(i)))), 1000 + i));
  // One message too large for the stream: its own completion carries the error.
  must(pub->publish_async(
    must(tp::task_message(s.names, "test", make_task("too-big", std::string(80 * 1024, 'x'))))));
  must(pub->wait_complete(10s));
  std::lock_guard guard{mtx};
  CHECK(acked.size() == n);
  CHECK(failed == std::set<std::string>{"too-big"});
  CHECK(pub->pending() == 0);
  CHECK(refs.size() == n + 1); // each publish came back with its own reference
  CHECK(*refs.begin() == 0);   // the too-big one, published without a reference
  CHECK(*refs.rbegin() == 1000 + n - 1);
}

TEST_CASE("asynchronous outcomes say what the server said: duplicate, too large, no stream") {
  single_server s;
  std::mutex mtx;
  std::map<std::uint64_t, tp::expected<tp::publish_ack>> outcomes;
  auto pub =
    must(tp::publisher::create(s.conn, {}, [&](std::uint64_t ref, std::string_view, const auto& r) {
      std::lock_guard guard{mtx};
      outcomes.emplace(ref, r);
    }));
  auto task = must(tp::task_message(s.names, "test", make_task("twice")));
  must(pub->publish_async(task, 1));
  must(pub->wait_complete(10s)); // stored before its repeat is sent
  must(pub->publish_async(task, 2));
  must(pub->publish_async(
    must(tp::task_message(s.names, "test", make_task("big", std::string(80 * 1024, 'x')))), 3));
  auto stray = task;
  stray.subject = "nobody.listens.here";
  must(pub->publish_async(stray, 4));
  must(pub->wait_complete(10s));
  std::lock_guard guard{mtx};
  REQUIRE(outcomes.size() == 4);
  REQUIRE(outcomes.at(1).has_value());
  REQUIRE(outcomes.at(2).has_value());
  CHECK_FALSE(outcomes.at(1)->duplicate);
  CHECK(outcomes.at(2)->duplicate);
  CHECK(outcomes.at(2)->sequence == outcomes.at(1)->sequence);
  CHECK(outcomes.at(1)->stream == s.names.tasks_stream());
  REQUIRE_FALSE(outcomes.at(3).has_value());
  CHECK(outcomes.at(3).error().code() == tp::errc::too_large);
  CHECK(outcomes.at(3).error().message().find("maximum") != std::string::npos);
  REQUIRE_FALSE(outcomes.at(4).has_value());
  CHECK(outcomes.at(4).error().code() == tp::errc::no_responders);
  CHECK(outcomes.at(4).error().message().find("nobody.listens.here") != std::string::npos);
  CHECK(pub->pending() == 0);
}

TEST_CASE("a synchronous publish over the stream's size limit is too_large, not retryable") {
  single_server s;
  auto msg = must(tp::task_message(s.names, "test", make_task("big", std::string(80 * 1024, 'x'))));
  auto r = s.pub->publish(msg, 5s);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == tp::errc::too_large);
  CHECK_FALSE(r.error().retryable());
}

TEST_CASE("with the server gone, asynchronous publishing turns into backpressure and loses "
          "nothing once the server is back") {
  single_server s;
  std::atomic<int> acked{0};
  tp::publisher::options opts;
  opts.max_pending = 8;
  opts.stall_wait = 100ms;
  opts.ack_timeout = 60s; // this test is about the buffer, not about acks that never come
  auto pub =
    must(tp::publisher::create(s.conn, opts, [&](std::uint64_t, std::string_view, const auto& r) {
      if (r)
        ++acked;
    }));
  s.server.kill();
  REQUIRE(wait_until([&] { return !s.conn->connected(); }, 10s));
  int accepted = 0;
  tp::expected<void> last;
  for (int i = 0; i < 20 && last; ++i) {
    last = pub->publish_async(
      must(tp::task_message(s.names, "test", make_task("bp-" + std::to_string(i)))));
    if (last)
      ++accepted;
  }
  REQUIRE_FALSE(last.has_value());
  CHECK(last.error().code() == tp::errc::backpressure);
  CHECK(last.error().retryable());
  CHECK(accepted == 8);
  s.server.start();
  must(pub->wait_complete(15s));
  CHECK(acked.load() == accepted);
  CHECK(must(s.consumer()->info()).num_pending == static_cast<std::uint64_t>(accepted));
}

TEST_CASE("acks lost with the server time out, free their pending slots across restarts, and "
          "a retry with the same id stores each message once") {
  single_server s;
  std::mutex mtx;
  std::map<std::string, int> timed_out;
  std::map<std::string, int> acked;
  tp::publisher::options opts;
  opts.max_pending = 16;
  opts.ack_timeout = 300ms;
  auto pub = must(
    tp::publisher::create(s.conn, opts, [&](std::uint64_t, std::string_view id, const auto& r) {
      std::lock_guard guard{mtx};
      if (r)
        ++acked[std::string{id}];
      else if (r.error().code() == tp::errc::timeout)
        ++timed_out[std::string{id}];
    }));
  auto count = [&](const std::map<std::string, int>& m) {
    std::lock_guard guard{mtx};
    return m.size();
  };
  constexpr int per_round = 10;
  for (int round = 0; round < 3; ++round) {
    s.server.kill();
    REQUIRE(wait_until([&] { return !s.conn->connected(); }, 10s));
    for (int i = 0; i < per_round; ++i)
      must(pub->publish_async(must(tp::task_message(
        s.names, "test", make_task("lost-" + std::to_string(round) + "-" + std::to_string(i))))));
    // No server, no ack: every publish ends as a timeout and gives its slot back.
    REQUIRE(wait_until([&] { return count(timed_out) == (round + 1u) * per_round; }, 10s));
    CHECK(pub->pending() == 0);
    s.server.start();
    REQUIRE(wait_until([&] { return s.conn->connected(); }, 15s));
    // The writer cannot know whether a timed-out message was stored: it publishes it again.
    for (int i = 0; i < per_round; ++i)
      must(pub->publish_async(must(tp::task_message(
        s.names, "test", make_task("lost-" + std::to_string(round) + "-" + std::to_string(i))))));
    must(pub->wait_complete(15s));
    CHECK(count(acked) == (round + 1u) * per_round);
    CHECK(pub->pending() == 0);
  }
  // Buffered before the restart or retried after it: one stored message per id.
  CHECK(must(s.consumer()->info()).num_pending == 3u * per_round);
}

TEST_CASE("a publish made after the publisher sat idle times out at its ack_timeout, not later") {
  using steady = std::chrono::steady_clock;
  single_server s;
  tp::publisher::options opts;
  opts.ack_timeout = 300ms;
  std::atomic<steady::rep> timed_out_at{0};
  auto pub =
    must(tp::publisher::create(s.conn, opts, [&](std::uint64_t, std::string_view, const auto& r) {
      if (!r && r.error().code() == tp::errc::timeout)
        timed_out_at = steady::now().time_since_epoch().count();
    }));
  s.server.kill();
  REQUIRE(wait_until([&] { return !s.conn->connected(); }, 10s));
  // The idle time is what this tests (the expiry thread wakes once an ack_timeout when nothing
  // waits), not a wait for something to happen.
  std::this_thread::sleep_for(3 * opts.ack_timeout + 50ms);
  auto sent = steady::now();
  must(pub->publish_async(must(tp::task_message(s.names, "test", make_task("idle-1")))));
  REQUIRE(wait_until([&] { return timed_out_at.load() != 0; }, 5s));
  auto took = steady::time_point{steady::duration{timed_out_at.load()}} - sent;
  CHECK(took >= opts.ack_timeout);
  CHECK(took < opts.ack_timeout + 250ms);
}

TEST_CASE("task_message refuses ids and types that cannot stand in a subject") {
  tp::wire::subjects names;
  CHECK(tp::task_message(names, "test", make_task("a.b")).error().code()
        == tp::errc::invalid_argument);
  auto t = make_task("ok");
  t.type = "has space";
  CHECK_FALSE(tp::task_message(names, "test", t).has_value());
  CHECK_FALSE(tp::task_message(names, "a>", make_task("ok")).has_value());
}
