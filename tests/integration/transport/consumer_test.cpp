#include "harness.hpp"

#include "transport/ack_confirmations.hpp"
#include "transport/handle.hpp"

#include <nlohmann/json.hpp>

#include <mutex>
#include <set>

using namespace smith::testing;
using clock_type = std::chrono::steady_clock;

namespace {

void publish_n(single_server& s, int n, const std::string& prefix = "t-") {
  for (int i = 0; i < n; ++i)
    s.publish(make_task(prefix + std::to_string(i)));
}

} // namespace

TEST_CASE("a fetch never returns more messages than asked for") {
  single_server s;
  publish_n(s, 20);
  auto c = s.consumer();
  std::set<std::uint64_t> seen;
  for (std::size_t ask : {1u, 3u, 7u, 2u, 7u}) {
    auto batch = must(c->fetch(ask, 2s));
    REQUIRE(!batch.empty());
    CHECK(batch.size() <= ask);
    for (auto& m : batch) {
      CHECK(seen.insert(m.stream_sequence()).second);
      must(m.ack());
    }
  }
  // Whatever is left arrives, each exactly once.
  while (seen.size() < 20) {
    auto batch = must(c->fetch(20, 2s));
    REQUIRE(!batch.empty());
    for (auto& m : batch) {
      CHECK(seen.insert(m.stream_sequence()).second);
      must(m.ack());
    }
  }
}

TEST_CASE("messages that arrive after a fetch returned are kept for the next fetch, never past "
          "its batch (the nats.c 3.4.1 _fetch overflow case)") {
  single_server s;
  auto c = s.consumer();
  publish_n(s, 64);
  // A big request, then wait until all its deliveries sit in the local queue: the next
  // fetches start with messages already pending, which is what overflowed nats.c's _fetch.
  auto first = must(c->fetch(64, 2s));
  REQUIRE(!first.empty());
  REQUIRE(wait_until([&] { return first.size() + c->buffered() == 64; }, 10s));
  std::size_t total = first.size();
  for (auto& m : first)
    must(m.ack());
  while (total < 64) {
    auto batch = must(c->fetch(5, 2s));
    REQUIRE(!batch.empty());
    CHECK(batch.size() <= 5);
    total += batch.size();
    for (auto& m : batch)
      must(m.ack());
  }
  CHECK(total == 64);
  CHECK(c->buffered() == 0);
  CHECK(c->outstanding() == 0);
  // Nothing is left delivered but unacked once the acks (sent without waiting) are in.
  CHECK(wait_until(
    [&] {
      auto info = c->info();
      return info && info->num_ack_pending == 0 && info->num_pending == 0;
    },
    10s));
}

TEST_CASE("an expired pull does not end the next fetch early (nats.c #631)") {
  single_server s;
  auto c = s.consumer();
  auto empty = must(c->fetch(4, 200ms));
  CHECK(empty.empty());
  // The earlier request's 408 may still be on its way; the next fetch must wait for its own.
  s.publish(make_task("late"));
  auto got = must(c->fetch(4, 5s));
  REQUIRE(got.size() == 1);
  CHECK(got[0].delivery_count() == 1);
  must(got[0].ack());
}

TEST_CASE("a message that is not acked is redelivered after ack_wait") {
  single_server s;
  auto c = s.consumer();
  s.publish(make_task("r-1"));
  auto first = must(c->fetch(1, 2s));
  REQUIRE(first.size() == 1);
  CHECK(first[0].delivery_count() == 1);
  auto seq = first[0].stream_sequence();
  auto start = clock_type::now();
  // One request that outlives ack_wait: nats-server 2.9 reports a redelivery that races the
  // expiry of the request it was meant for with a delivery count one too low.
  auto again = must(c->fetch(1, 5s));
  REQUIRE(again.size() == 1);
  CHECK(clock_type::now() - start >= 900ms); // not before ack_wait (1 s) ran out
  CHECK(again[0].stream_sequence() == seq);
  CHECK(again[0].delivery_count() == 2);
  must(again[0].ack_sync(2s));
}

TEST_CASE("after max_deliver attempts the MAX_DELIVERIES advisory arrives") {
  single_server s;
  auto c = s.consumer();
  natsSubscription* raw = nullptr;
  REQUIRE(
    natsConnection_SubscribeSync(&raw, s.conn->native(),
                                 "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.SMITH_TASKS.role-test")
    == NATS_OK);
  tp::subscription_handle advisories{raw};
  must(s.conn->flush(2s));
  auto ack = s.publish(make_task("poison"));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::vector<tp::message> got;
    REQUIRE(wait_until(
      [&] {
        got = must(c->fetch(1, 500ms));
        return !got.empty();
      },
      10s, 0ms));
    CHECK(got[0].delivery_count() == static_cast<std::uint64_t>(attempt));
    must(got[0].nak());
  }
  // The server gives up on the message when it would deliver it a fourth time, which needs a
  // pull waiting: the next fetch gets nothing, and the advisory goes out.
  CHECK(must(c->fetch(1, 1500ms)).empty());
  natsMsg* adv = nullptr;
  REQUIRE(natsSubscription_NextMsg(&adv, advisories.get(), 10000) == NATS_OK);
  tp::msg_handle hold{adv};
  auto body = nlohmann::json::parse(
    std::string_view{natsMsg_GetData(adv), static_cast<std::size_t>(natsMsg_GetDataLength(adv))});
  CHECK(body["stream_seq"] == ack.sequence);
  CHECK(body["deliveries"] == 3);
  CHECK(body["consumer"] == "role-test");
  CHECK(must(c->fetch(1, 1500ms)).empty());
}

TEST_CASE("nak with a delay is redelivered no sooner than the delay") {
  single_server s;
  auto c = s.consumer();
  s.publish(make_task("d-1"));
  auto got = must(c->fetch(1, 2s));
  REQUIRE(got.size() == 1);
  auto start = clock_type::now();
  must(got[0].nak(2s));
  // One request that outlives the delay (see the ack_wait test for why).
  auto again = must(c->fetch(1, 6s));
  REQUIRE(again.size() == 1);
  CHECK(clock_type::now() - start >= 1900ms);
  CHECK(again[0].delivery_count() == 2);
  must(again[0].ack());
}

TEST_CASE("term stops redelivery for good") {
  single_server s;
  auto c = s.consumer();
  s.publish(make_task("x-1"));
  auto got = must(c->fetch(1, 2s));
  REQUIRE(got.size() == 1);
  must(got[0].term());
  CHECK(got[0].term().error().code() == tp::errc::already_acked);
  // Past two ack_waits nothing comes back, and the server holds nothing for the consumer.
  CHECK(must(c->fetch(1, 2500ms)).empty());
  auto info = must(c->info());
  CHECK(info.num_ack_pending == 0);
  CHECK(info.num_pending == 0);
  CHECK(info.num_redelivered == 0);
}

TEST_CASE("in_progress keeps a long task from being redelivered past ack_wait") {
  single_server s;
  auto c = s.consumer();
  auto other = s.consumer(); // a second worker on the same queue
  s.publish(make_task("long-1"));
  auto got = must(c->fetch(1, 2s));
  REQUIRE(got.size() == 1);
  auto start = clock_type::now();
  while (clock_type::now() - start < 3s) { // three ack_waits
    must(got[0].in_progress());
    CHECK(must(other->fetch(1, 250ms)).empty());
  }
  must(got[0].ack_sync(2s));
  auto info = must(c->info());
  CHECK(info.num_redelivered == 0);
  CHECK(info.num_ack_pending == 0);
}

TEST_CASE("acks and terms sent for confirmation are confirmed by reference, once taken") {
  single_server s;
  auto c = s.consumer();
  std::mutex mtx;
  std::set<std::uint64_t> confirmed;
  auto confirms = must(tp::ack_confirmations::create(s.conn, [&](std::uint64_t ref) {
    std::lock_guard guard{mtx};
    confirmed.insert(ref);
  }));
  publish_n(s, 2, "conf-");
  std::vector<tp::message> got;
  REQUIRE(wait_until(
    [&] {
      auto more = must(c->fetch(2 - got.size(), 500ms));
      std::move(more.begin(), more.end(), std::back_inserter(got));
      return got.size() == 2;
    },
    10s, 0ms));
  auto a = got[0].stream_sequence();
  auto b = got[1].stream_sequence();
  must(got[0].ack(confirms->reply_for(a)));
  must(got[1].term(confirms->reply_for(b)));
  REQUIRE(wait_until(
    [&] {
      std::lock_guard guard{mtx};
      return confirmed.size() == 2;
    },
    5s));
  CHECK(confirmed == std::set<std::uint64_t>{a, b});
  // Confirmed means taken: nothing is pending any more.
  auto info = must(c->info());
  CHECK(info.num_ack_pending == 0);
  CHECK(info.num_pending == 0);
}
