#include "harness.hpp"
#include "transport/stream_reader.hpp"

using namespace smith::testing;
using tp::applied;

TEST_CASE("applying the topology twice creates it once and then changes nothing") {
  nats_server server;
  auto conn = connect_to(server.url());
  auto cfg = test_topology();
  auto first = must(tp::apply(*conn, tp::declare(cfg)));
  // five streams (tasks, results, dead letters, firings, advisories), the role consumer and the
  // mover
  REQUIRE(first.size() == 7);
  for (const auto& a : first)
    CHECK_MESSAGE(a.what == applied::change::created, a.name);
  auto second = must(tp::apply(*conn, tp::declare(cfg)));
  for (const auto& a : second)
    CHECK_MESSAGE(a.what == applied::change::unchanged, a.name);
}

TEST_CASE("a changed ack_wait and max_age are updated in place and named") {
  nats_server server;
  auto conn = connect_to(server.url());
  auto cfg = test_topology();
  must(tp::apply(*conn, tp::declare(cfg)));
  cfg.ack_wait = 7s;
  cfg.results_max_age = 2h;
  auto out = must(tp::apply(*conn, tp::declare(cfg)));
  bool saw_consumer = false;
  bool saw_results = false;
  for (const auto& a : out) {
    if (a.name == "SMITH_TASKS/role-test") {
      saw_consumer = true;
      CHECK(a.what == applied::change::updated);
      CHECK(a.fields == std::vector<std::string>{"ack_wait"});
    }
    if (a.name == "SMITH_RESULTS") {
      saw_results = true;
      CHECK(a.what == applied::change::updated);
      CHECK(a.fields == std::vector<std::string>{"max_age"});
    }
  }
  CHECK(saw_consumer);
  CHECK(saw_results);
}

TEST_CASE("create_only creates what is missing and reports drift without changing the server") {
  nats_server server;
  auto conn = connect_to(server.url());
  auto cfg = test_topology();
  auto first = must(tp::apply(*conn, tp::declare(cfg), tp::apply_mode::create_only));
  for (const auto& a : first)
    CHECK_MESSAGE(a.what == applied::change::created, a.name);
  auto other = cfg;
  other.ack_wait = 300s; // a process started with other settings
  auto out = must(tp::apply(*conn, tp::declare(other), tp::apply_mode::create_only));
  bool saw_consumer = false;
  int saw_stored = 0;
  for (const auto& a : out) {
    if (a.name == "SMITH_RESULTS" || a.name == "SMITH_DLQ") {
      // Their duplicate window follows the redelivery horizon, which AckWait is part of.
      ++saw_stored;
      CHECK_MESSAGE(a.what == applied::change::drifted, a.name);
      CHECK(a.fields == std::vector<std::string>{"duplicate_window"});
      continue;
    }
    if (a.name != "SMITH_TASKS/role-test") {
      CHECK_MESSAGE(a.what == applied::change::unchanged, a.name);
      continue;
    }
    saw_consumer = true;
    CHECK(a.what == applied::change::drifted);
    CHECK(a.fields == std::vector<std::string>{"ack_wait"});
  }
  CHECK(saw_consumer);
  CHECK(saw_stored == 2);
  auto info = must(tp::consumer_info(*conn, "SMITH_TASKS", "role-test"));
  CHECK(info.ack_wait == cfg.ack_wait); // the server kept its value
  CHECK(info.max_deliver == cfg.max_deliver);
}

TEST_CASE("a stream that exists with another retention is a conflict naming the field") {
  nats_server server;
  auto conn = connect_to(server.url());
  auto cfg = test_topology();
  auto t = tp::declare(cfg);
  t.streams[0].retention = tp::retention::limits; // SMITH_TASKS, made by someone else
  t.consumers.clear();
  must(tp::apply(*conn, t));
  auto out = tp::apply(*conn, tp::declare(cfg));
  REQUIRE_FALSE(out.has_value());
  CHECK(out.error().code() == tp::errc::conflict);
  CHECK(out.error().message().find("`retention`") != std::string::npos);
  CHECK(out.error().message().find("SMITH_TASKS") != std::string::npos);
  CHECK_FALSE(out.error().retryable());
}

TEST_CASE("binding a consumer that was never declared says how to create it") {
  single_server s;
  auto c = tp::pull_consumer::bind(s.conn, s.names.tasks_stream(), "role-nobody");
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().code() == tp::errc::not_found);
  CHECK(c.error().message().find("topology") != std::string::npos);
}

TEST_CASE("the tasks stream holds message schedules; a queue cap, which excludes them, is refused "
          "on a stream that has them, and a capped stream has none") {
  nats_server server;
  auto conn = connect_to(server.url());
  auto cfg = test_topology();
  must(tp::apply(*conn, tp::declare(cfg)));
  auto info = [&](const std::string& stream) {
    natsMsg* raw = nullptr;
    auto subject = "$JS.API.STREAM.INFO." + stream;
    REQUIRE(natsConnection_Request(&raw, conn->native(), subject.c_str(), "", 0, 5000) == NATS_OK);
    tp::msg_handle hold{raw};
    return std::string{natsMsg_GetData(raw), static_cast<std::size_t>(natsMsg_GetDataLength(raw))};
  };
  auto tasks = info("SMITH_TASKS");
  CHECK(tasks.find("\"allow_msg_schedules\":true") != std::string::npos);
  CHECK(tasks.find("\"smith.schedule.") != std::string::npos); // the server writes > as \u003e
  CHECK(tasks.find("\"discard\":\"old\"") != std::string::npos);

  cfg.max_tasks = 50;
  auto refused = tp::apply(*conn, tp::declare(cfg));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == tp::errc::conflict);
  CHECK(refused.error().message().find("allow_msg_schedules") != std::string::npos);
  CHECK(info("SMITH_TASKS").find("\"max_msgs\":-1") != std::string::npos); // unchanged

  nats_server other;
  auto conn2 = connect_to(other.url());
  must(tp::apply(*conn2, tp::declare(cfg)));
  natsMsg* raw = nullptr;
  REQUIRE(
    natsConnection_Request(&raw, conn2->native(), "$JS.API.STREAM.INFO.SMITH_TASKS", "", 0, 5000)
    == NATS_OK);
  tp::msg_handle hold{raw};
  std::string capped{natsMsg_GetData(raw), static_cast<std::size_t>(natsMsg_GetDataLength(raw))};
  CHECK(capped.find("\"allow_msg_schedules\":true") == std::string::npos);
  CHECK(capped.find("\"discard\":\"new\"") != std::string::npos);
  CHECK(capped.find("\"max_msgs\":50") != std::string::npos);
}

TEST_CASE("deleting a message that is gone says so, whatever the server's error for it") {
  nats_server server;
  auto conn = connect_to(server.url());
  auto cfg = test_topology();
  must(tp::apply(*conn, tp::declare(cfg)));
  tp::wire::subjects names{cfg.prefix};
  const auto stream = names.dlq_stream();
  for (int i = 0; i < 3; ++i)
    must(tp::publish(*conn, {names.dlq("test", "echo"), "x", {}, {}}, 5s));
  CHECK(must(tp::delete_message(*conn, stream, 1)));
  CHECK(must(tp::delete_message(*conn, stream, 3)));
  // The last sequence again: the server answers 10043 "sequence 3 not found"; a middle one
  // and one past the end: 10057 with a reason in text. Each is "not there", not a failure.
  CHECK_FALSE(must(tp::delete_message(*conn, stream, 3)));
  CHECK(must(tp::delete_message(*conn, stream, 2)));
  CHECK_FALSE(must(tp::delete_message(*conn, stream, 2)));
  CHECK_FALSE(must(tp::delete_message(*conn, stream, 5)));
}
