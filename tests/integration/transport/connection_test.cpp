#include "harness.hpp"

#include "transport/wire/headers.hpp"

#include <mutex>
#include <vector>

using namespace smith::testing;

namespace {

tp::connection_config config_for(const nats_server& server) {
  tp::connection_config cc;
  cc.servers = {server.url()};
  cc.retry_on_failed_connect = false;
  return cc;
}

server_options with_config(std::string extra) {
  server_options opts;
  opts.extra_config = std::move(extra);
  return opts;
}

struct event_log {
  std::mutex mtx;
  std::vector<tp::connection_event_kind> kinds;

  void add(const tp::connection_event& ev) {
    std::lock_guard guard{mtx};
    kinds.push_back(ev.kind);
  }

  bool saw(tp::connection_event_kind kind) {
    std::lock_guard guard{mtx};
    return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
  }
};

} // namespace

TEST_CASE("user and password log in; a wrong password is refused and not retryable") {
  nats_server server{with_config("authorization { user: smith, password: s3cret }")};
  auto cc = config_for(server);
  cc.user = "smith";
  cc.password = "s3cret";
  auto ok = tp::connection::connect(cc);
  REQUIRE_MESSAGE(ok.has_value(), ok.error().to_string());
  CHECK((*ok)->connected());
  cc.password = "wrong";
  auto bad = tp::connection::connect(cc);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code() == tp::errc::not_permitted);
  CHECK_FALSE(bad.error().retryable());
}

TEST_CASE("a token logs in") {
  nats_server server{with_config("authorization { token: t0ken }")};
  auto cc = config_for(server);
  cc.token = "t0ken";
  auto ok = tp::connection::connect(cc);
  REQUIRE_MESSAGE(ok.has_value(), ok.error().to_string());
  cc.token = "nope";
  CHECK_FALSE(tp::connection::connect(cc).has_value());
}

TEST_CASE("a missing credentials file is a clear error naming the file") {
  nats_server server;
  auto cc = config_for(server);
  cc.credentials_file = "/nonexistent/smith.creds";
  auto r = tp::connection::connect(cc);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message().find("/nonexistent/smith.creds") != std::string::npos);
}

TEST_CASE("listeners see disconnected, reconnected and closed as the server goes and comes") {
  nats_server server;
  auto conn = connect_to(server.url());
  event_log log;
  conn->add_listener([&](const tp::connection_event& ev) { log.add(ev); });
  server.kill();
  REQUIRE(wait_until([&] { return log.saw(tp::connection_event_kind::disconnected); }, 10s));
  CHECK_FALSE(conn->connected());
  server.start();
  REQUIRE(wait_until([&] { return log.saw(tp::connection_event_kind::reconnected); }, 15s));
  CHECK(conn->connected());
  CHECK(conn->reconnects() >= 1);
  conn->close();
  CHECK(log.saw(tp::connection_event_kind::closed));
}

TEST_CASE("a service starts before NATS is up and connects once it is") {
  auto port = free_port();
  tp::connection_config cc;
  cc.servers = {"nats://127.0.0.1:" + std::to_string(port)};
  cc.reconnect_wait = 50ms;
  cc.reconnect_wait_max = 200ms;
  auto conn = tp::connection::connect(cc); // retry_on_failed_connect is the default
  REQUIRE_MESSAGE(conn.has_value(), conn.error().to_string());
  CHECK_FALSE((*conn)->connected());
  server_options opts;
  opts.port = port;
  nats_server server{opts};
  CHECK(wait_until([&] { return (*conn)->connected(); }, 15s));
}

TEST_CASE("a task carries its headers to the consumer") {
  single_server s;
  auto t = make_task("h-1");
  t.deadline_ms = 4'102'444'800'000;
  tp::task_headers extra;
  extra.not_before_ms = 1'700'000'000'000;
  extra.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  must(s.pub->publish(must(tp::task_message(s.names, "test", t, extra)), 5s));
  auto got = must(s.consumer()->fetch(1, 2s));
  REQUIRE(got.size() == 1);
  auto& m = got[0];
  CHECK(m.subject() == "smith.task.test.echo");
  CHECK(m.header(tp::wire::headers::msg_id) == "h-1");
  CHECK(m.header(tp::wire::headers::type) == "echo");
  CHECK(m.header(tp::wire::headers::deadline) == "4102444800000");
  CHECK(m.header(tp::wire::headers::not_before) == "1700000000000");
  CHECK(m.header(tp::wire::headers::traceparent) == extra.traceparent);
  CHECK_FALSE(m.header("Absent").has_value());
  CHECK(must(tp::wire::decode_task(m.data())) == t);
  must(m.ack());
}
