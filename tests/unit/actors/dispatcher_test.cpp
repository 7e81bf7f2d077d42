// The dispatcher's state machine, with no server (dispatcher_harness.hpp): how an attempt ends
// after each kind of store outcome, a deadline mid-run, a cancel that races a finish, a second
// delivery of a sequence in hand, and a drain with deliveries prefetched.
#include "dispatcher_harness.hpp"

#include "actors/dispatcher_state.hpp"

#include "transport/clock.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

using namespace smith::testing;
using smith::actors::outcome;
namespace tp = smith::transport;

TEST_CASE("a stored result is acked; a refused store naks the attempt for a retry") {
  dispatcher_harness h;
  h.deliver({h.delivery(1, echo_task("a"))});
  h.finish(h.next_job(), outcome::success("out-a"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 1; }));
  auto first = h.rec->stores_now()[0];
  CHECK(first.out.subject == "smith.result.test.a");
  CHECK(first.out.msg_id == "result-1");
  CHECK(first.ref == 1);
  auto r = dispatcher_harness::result_of(first);
  CHECK(r.ok);
  CHECK(r.output == "out-a");
  CHECK(r.attempts == 1);
  CHECK(h.rec->acks_now().empty()); // never an ack before the store is in
  h.stored(1, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+ACK 1 dc1"); }));

  h.deliver({h.delivery(2, echo_task("b"))});
  h.finish(h.next_job(), outcome::success("out-b"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 2; }));
  h.stored(2, false);
  // Retried after the first backoff step (1 s), never acked; its log line says why.
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("-NAK {\"delay\":1000000000} 2 dc1"); }));
  for (const auto& a : h.rec->acks_now()) {
    bool about_2 = a.find(" 2 dc1") != std::string::npos;
    CHECK((!about_2 || a.starts_with("-NAK")));
  }
}

TEST_CASE("a store that timed out goes out again with the same id; the task does not run again") {
  dispatcher_harness h;
  h.deliver({h.delivery(3, echo_task("c"))});
  h.finish(h.next_job(), outcome::success("out-c"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 1; }));
  h.stored(3, false, true); // the publish ack timed out: it may be stored
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 2; }));
  auto again = h.rec->stores_now();
  CHECK(again[1].out.msg_id == again[0].out.msg_id);
  CHECK(again[1].out.body == again[0].out.body);
  CHECK(h.rec->acks_now().empty()); // not nak'd while it may be stored
  h.stored(3, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+ACK 3 dc1"); }));
  CHECK_FALSE(h.job_waiting());
  CHECK(h.rec->acks_now().size() == 1);
}

TEST_CASE("a deadline mid-run stores the failed result at once and tells the handler to stop") {
  dispatcher_harness h;
  auto t = echo_task("d");
  t.deadline_ms = tp::unix_ms() + 100;
  h.deliver({h.delivery(4, t)});
  auto running = h.next_job();
  CHECK_FALSE(running.j.cancelled->load());
  // The handler goes on; the deadline's timer ends the attempt without it.
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 1; }));
  CHECK(running.j.cancelled->load());
  auto r = dispatcher_harness::result_of(h.rec->stores_now()[0]);
  CHECK_FALSE(r.ok);
  REQUIRE(r.error);
  CHECK(*r.error == "deadline exceeded");
  h.stored(4, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+TERM 4 dc1"); }));
  // The handler's late answer changes nothing: its worker is free again for the next task
  // (one worker: the next job starts only after the late answer is in), and no second
  // outcome is stored for the first.
  h.finish(running, outcome::success("too late"));
  h.deliver({h.delivery(5, echo_task("e"))});
  h.finish(h.next_job(), outcome::success("out-e"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 2; }));
  CHECK(h.rec->stores_now()[1].out.subject == "smith.result.test.e");
}

TEST_CASE("a cancel during a run: a handler that fails ends cancelled, one that succeeds keeps "
          "its result") {
  dispatcher_harness h;
  auto wait_cancelled = [&](const handed& j) {
    return h.rec->wait([&](auto&) { return j.j.cancelled->load(); });
  };
  h.deliver({h.delivery(6, echo_task("c1"))});
  auto first = h.next_job();
  caf::anon_send(h.dispatcher, smith::actors::cancel_atom::value, std::string{"c1"});
  // The flag is set from the dispatcher's thread; the recorder's wait polls it on each event,
  // so give it one: a capacity update follows every message the dispatcher handles.
  h.deliver({});
  REQUIRE(wait_cancelled(first));
  h.finish(first, outcome::failure("stopped early", "stopped"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 1; }));
  auto r1 = dispatcher_harness::result_of(h.rec->stores_now()[0]);
  CHECK_FALSE(r1.ok);
  CHECK(r1.status == std::optional<std::string>{"cancelled"});
  h.stored(6, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+TERM 6 dc1"); }));

  h.deliver({h.delivery(7, echo_task("c2"))});
  auto second = h.next_job();
  caf::anon_send(h.dispatcher, smith::actors::cancel_atom::value, std::string{"c2"});
  h.deliver({});
  REQUIRE(wait_cancelled(second));
  h.finish(second, outcome::success("done anyway"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 2; }));
  auto r2 = dispatcher_harness::result_of(h.rec->stores_now()[1]);
  CHECK(r2.ok);
  CHECK(r2.output == "done anyway");
  CHECK_FALSE(r2.status);
  h.stored(7, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+ACK 7 dc1"); }));
}

TEST_CASE("a second delivery of a sequence in hand is not a second run; the newest one is acked") {
  dispatcher_harness h{2}; // an idle worker is there: a second run would have one to go to
  auto t = echo_task("dup");
  h.deliver({h.delivery(8, t, 1)});
  auto running = h.next_job();
  h.deliver({h.delivery(8, t, 2)}); // AckWait ran out at the server while it ran
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+WPI 8 dc2"); }));
  CHECK_FALSE(h.job_waiting());
  h.finish(running, outcome::success("once"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 1; }));
  h.stored(8, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+ACK 8 dc2"); }));
  CHECK_FALSE(h.rec->acked("+ACK 8 dc1"));
  CHECK_FALSE(h.job_waiting());
}

TEST_CASE("an undecodable task is dead-lettered at once, never run") {
  dispatcher_harness h;
  auto d = h.delivery(9, echo_task("x"));
  d.task.reset();
  d.malformed = "not msgpack";
  h.deliver({d});
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 1; }));
  auto s = h.rec->stores_now()[0];
  CHECK(s.out.subject == "smith.dlq.test.unknown");
  CHECK(s.out.msg_id == "dlq-9");
  h.stored(9, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+TERM 9 dc1"); }));
  CHECK_FALSE(h.job_waiting());
}

TEST_CASE("a drain hands prefetched deliveries back at once, lets the running one finish, and "
          "ends once the server confirmed its ack") {
  dispatcher_harness h; // one worker
  h.deliver({h.delivery(10, echo_task("r"))});
  auto running = h.next_job();
  h.deliver({h.delivery(11, echo_task("p1")), h.delivery(12, echo_task("p2"))});
  h.self->monitor(h.dispatcher);
  caf::anon_send(h.dispatcher, smith::actors::drain_atom::value);
  REQUIRE(h.rec->wait(
    [](auto& r) { return r.acked("-NAK 11 dc1") && r.acked("-NAK 12 dc1") && r.capacity() == 0; }));
  CHECK_FALSE(h.rec->stopped()); // one still runs
  h.finish(running, outcome::success("finished while draining"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 1; }));
  h.stored(10, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+ACK 10 dc1 confirmed"); }));
  CHECK_FALSE(h.rec->stopped()); // waits for the server to take the ack
  caf::anon_send(h.dispatcher, smith::actors::settled_atom::value, std::uint64_t{10});
  bool down = false;
  h.self->receive([&](const caf::down_msg&) { down = true; },
                  caf::after(std::chrono::seconds{10}) >> [] {});
  CHECK(down);
  CHECK(h.rec->stopped());
  CHECK_FALSE(h.job_waiting()); // the prefetched ones never ran here
}

TEST_CASE("results are written at once while few are being stored, and coalesced while many are") {
  dispatcher_harness h{6};
  std::vector<smith::actors::delivery> batch;
  for (std::uint64_t seq = 1; seq <= 6; ++seq)
    batch.push_back(h.delivery(seq, echo_task("w" + std::to_string(seq))));
  h.deliver(std::move(batch));
  std::vector<handed> jobs;
  for (int i = 0; i < 6; ++i)
    jobs.push_back(h.next_job());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    h.finish(jobs[i], outcome::success("out"));
    REQUIRE(h.rec->wait([n = i + 1](auto& r) { return r.stores().size() == n; }));
  }
  // The first three found fewer than write_at_once_below (4) stores under way; the rest wait
  // for the coalesced write with the others.
  REQUIRE(h.rec->wait([](auto& r) { return r.flushes() == 3; }));
  for (std::uint64_t seq = 1; seq <= 6; ++seq)
    h.stored(seq, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+ACK 6 dc1"); }));
  // Idle again: the next result goes out at once.
  h.deliver({h.delivery(7, echo_task("w7"))});
  h.finish(h.next_job(), outcome::success("out"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 7; }));
  CHECK(h.rec->wait([](auto& r) { return r.flushes() == 4; }));
}

TEST_CASE("a deadline from any publisher arms a bounded timer: far ones re-arm, none overflows") {
  using smith::actors::deadline_timer;
  using smith::actors::longest_timer;
  using std::chrono::milliseconds;
  constexpr std::int64_t now = 1'700'000'000'000;
  CHECK(deadline_timer(now + 1500, now) == milliseconds{1500});
  CHECK(deadline_timer(now, now) == milliseconds{0});
  CHECK(deadline_timer(now - 1, now) == milliseconds{0});
  CHECK(deadline_timer(INT64_MIN, now) == milliseconds{0});
  CHECK(deadline_timer(INT64_MAX, now) == longest_timer);
  CHECK(deadline_timer(now + longest_timer.count() + 1, now) == longest_timer);

  dispatcher_harness h;
  auto t = echo_task("far");
  t.deadline_ms = INT64_MAX; // the year 292 million
  h.deliver({h.delivery(1, t)});
  h.finish(h.next_job(), outcome::success("in time"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 1; }));
  h.stored(1, true);
  CHECK(h.rec->wait([](auto& r) { return r.acked("+ACK 1 dc1"); }));
}

TEST_CASE("a task ping is answered by the dispatcher running the task, with its last progress") {
  dispatcher_harness h;
  auto t = echo_task("pinged");
  t.meta["prior_attempts"] = "2";
  h.deliver({h.delivery(20, t)});
  auto running = h.next_job();
  // The answers (the dispatcher's `started` events go through the same port).
  auto answers = [&h] {
    std::vector<std::pair<std::string, std::string>> out;
    auto bodies = h.rec->bodies_now();
    auto subjects = h.rec->events_now();
    for (std::size_t i = 0; i < subjects.size(); ++i)
      if (subjects[i].starts_with("_INBOX."))
        out.emplace_back(subjects[i], bodies[i]);
    return out;
  };
  // Not running here: no answer at all (another worker's task, or none).
  h.self->send(h.dispatcher, smith::actors::task_ping_atom::value, std::string{"other"},
               std::string{"_INBOX.a"});
  h.self->send(h.dispatcher, smith::actors::progress_atom::value, std::uint64_t{20},
               running.j.attempt, 40, std::string{"half \xff way"});
  h.self->send(h.dispatcher, smith::actors::task_ping_atom::value, std::string{"pinged"},
               std::string{"_INBOX.b"});
  REQUIRE(h.rec->wait(
    [](auto& r) { return std::ranges::count(r.events(), std::string{"_INBOX.b"}) == 1; }));
  REQUIRE(answers().size() == 1);
  CHECK(answers()[0].first == "_INBOX.b");
  auto doc = nlohmann::json::parse(answers()[0].second);
  CHECK(doc["id"] == "pinged");
  CHECK(doc["state"] == "running");
  CHECK(doc["role"] == "test");
  CHECK(doc["type"] == "echo");
  CHECK(doc["worker"] == "unit:1");
  CHECK(doc["attempts"] == 3); // counted as results count them: the prior attempts too
  CHECK(doc["started_ms"].get<std::int64_t>() > 0);
  CHECK(doc["progress"]["percent"] == 40);
  CHECK(doc["progress"]["message"] == "half \xef\xbf\xbd way"); // U+FFFD for the bad byte
  // Once the attempt is over, nobody answers.
  h.finish(running, outcome::success("done"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 1; }));
  h.stored(20, true);
  REQUIRE(h.rec->wait([](auto& r) { return r.acked("+ACK 20 dc1"); }));
  h.self->send(h.dispatcher, smith::actors::task_ping_atom::value, std::string{"pinged"},
               std::string{"_INBOX.c"});
  h.deliver({h.delivery(21, echo_task("next"))}); // a round trip through the dispatcher
  h.finish(h.next_job(), outcome::success("x"));
  REQUIRE(h.rec->wait([](auto& r) { return r.stores().size() == 2; }));
  CHECK(answers().size() == 1);
}
