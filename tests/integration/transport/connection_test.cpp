#include "connection_helpers.hpp"

#include "transport/clock.hpp"
#include "transport/stream_reader.hpp"
#include "transport/subscription.hpp"
#include "transport/wire/headers.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace smith::testing;

namespace {

// A listener that speaks just enough of the NATS protocol for nats.c to connect (INFO first,
// PONG to each PING) and says it is the given version: a server too old for us to start.
class old_server {
public:
  explicit old_server(std::string version, int port = 0) : version_(std::move(version)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int yes = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::listen(fd_, 8) == 0);
    thread_ = std::thread{[this] { serve(); }};
  }
  ~old_server() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url() const {
    return "nats://127.0.0.1:" + std::to_string(port_);
  }

private:
  void serve() {
    std::vector<pollfd> fds{{fd_, POLLIN, 0}};
    while (!stop_) {
      if (::poll(fds.data(), fds.size(), 50) <= 0)
        continue;
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP)) == 0)
          continue;
        if (i == 0) {
          int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
          auto info = "INFO {\"server_id\":\"OLD\",\"version\":\"" + version_
                      + "\",\"proto\":1,\"headers\":true,\"max_payload\":1048576}\r\n";
          (void)::send(c, info.data(), info.size(), MSG_NOSIGNAL);
          fds.push_back({c, POLLIN, 0});
          continue;
        }
        char buf[4096];
        auto n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1; // poll skips it
          continue;
        }
        if (std::string_view{buf, static_cast<std::size_t>(n)}.find("PING") != std::string::npos)
          (void)::send(fds[i].fd, "PONG\r\n", 6, MSG_NOSIGNAL);
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i)
      if (fds[i].fd >= 0)
        ::close(fds[i].fd);
  }

  std::string version_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace

TEST_CASE("the connection knows the server's version, and refuses one older than supported") {
  single_server s;
  auto v = s.conn->server();
  REQUIRE(v.has_value());
  CHECK(*v >= tp::minimum_server_version);

  old_server old{"2.9.10"};
  tp::connection_config cc;
  cc.servers = {old.url()};
  cc.retry_on_failed_connect = false;
  auto refused = tp::connection::connect(cc);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == tp::errc::unsupported);
  CHECK(refused.error().message().find("2.9.10") != std::string::npos);
  CHECK(refused.error().message().find(tp::minimum_server_version.str()) != std::string::npos);

  // Started before the server came up: connected to it, but never "connected" for our use.
  auto port = free_port();
  cc.servers = {"nats://127.0.0.1:" + std::to_string(port)};
  cc.retry_on_failed_connect = true;
  auto late = tp::connection::connect(cc);
  REQUIRE_MESSAGE(late.has_value(), late.error().to_string());
  CHECK_FALSE((*late)->server().has_value());
  old_server later{"2.9.10", port};
  CHECK(wait_until([&] { return (*late)->server().has_value(); }, 10s));
  CHECK((*late)->server() == tp::server_version{2, 9, 10});
  CHECK_FALSE((*late)->connected());
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

namespace {

constexpr const char* a_traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

tp::wire::task with_deadline(const std::string& id) {
  auto t = make_task(id);
  t.deadline_ms = 4'102'444'800'000;
  return t;
}

} // namespace

TEST_CASE("a task carries its headers to the consumer") {
  single_server s;
  auto t = with_deadline("h-1");
  tp::task_headers extra;
  extra.traceparent = a_traceparent;
  must(s.pub->publish(must(tp::task_message(s.names, "test", t, extra)), 5s));
  auto got = must(s.consumer()->fetch(1, 2s));
  REQUIRE(got.size() == 1);
  auto& m = got[0];
  CHECK(m.subject() == "smith.task.test.echo.h-1");
  CHECK(m.header(tp::wire::headers::msg_id) == "h-1");
  CHECK(m.header(tp::wire::headers::type) == "echo");
  CHECK(m.header(tp::wire::headers::deadline) == "4102444800000");
  CHECK(m.header(tp::wire::headers::traceparent) == extra.traceparent);
  CHECK_FALSE(m.header("Absent").has_value());
  CHECK(must(tp::wire::decode_task(m.data())) == t);
  must(m.ack());
}

TEST_CASE("a task with a time to start waits as a message schedule and arrives with its headers") {
  single_server s;
  auto t = with_deadline("h-2");
  tp::task_headers extra;
  extra.traceparent = a_traceparent;
  extra.not_before_ms = tp::unix_ms() + 1'500;
  auto out = must(tp::task_message(s.names, "test", t, extra));
  CHECK(out.subject == "smith.schedule.test.echo.h-2");
  must(s.pub->publish(out, 5s));
  // Held by the server: nothing to deliver yet, and the schedule is in the stream.
  CHECK(must(s.consumer()->fetch(1, 300ms)).empty());
  auto held = must(tp::last_message(*s.conn, s.names.tasks_stream(), s.names.schedule_of("h-2")));
  REQUIRE(held.has_value());
  CHECK(held->header(tp::wire::headers::schedule) == "@at " + tp::rfc3339_ms(*extra.not_before_ms));
  CHECK(held->header(tp::wire::headers::schedule_target) == "smith.task.test.echo.h-2");
  auto got = must(s.consumer()->fetch(1, 5s));
  REQUIRE(got.size() == 1);
  auto& m = got[0];
  CHECK(tp::unix_ms() >= *extra.not_before_ms);
  CHECK(m.subject() == "smith.task.test.echo.h-2");
  CHECK(m.header(tp::wire::headers::scheduler) == "smith.schedule.test.echo.h-2");
  CHECK(m.header(tp::wire::headers::type) == "echo");
  CHECK(m.header(tp::wire::headers::deadline) == "4102444800000");
  CHECK(m.header(tp::wire::headers::traceparent) == extra.traceparent);
  CHECK(must(tp::wire::decode_task(m.data())) == t);
  must(m.ack());
  // A one-shot schedule is gone once it fired.
  CHECK_FALSE(must(tp::last_message(*s.conn, s.names.tasks_stream(), s.names.schedule_of("h-2")))
                .has_value());
}

TEST_CASE("a connection that coalesces writes delivers every publish, flushes on request from any "
          "thread, and writes what it holds when closed") {
  nats_server server;
  auto reader = connect_to(server.url());
  std::mutex mtx;
  std::condition_variable cv;
  int seen = 0;
  auto sub = must(tp::subscription::create(reader, "co.>", [&](const tp::core_message&) {
    std::lock_guard guard{mtx};
    ++seen;
    cv.notify_all();
  }));
  must(reader->flush(2s)); // the subscription is in place before anything is sent
  auto cc = config_for(server);
  cc.coalesce_writes = true;
  auto writer = must(tp::connection::connect(cc));
  constexpr int threads = 4;
  constexpr int each = 500;
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t)
    senders.emplace_back([&writer, t] {
      for (int i = 0; i < each; ++i) {
        must(tp::publish_core(*writer, "co." + std::to_string(t), "x"));
        writer->flush_soon();
      }
    });
  for (auto& s : senders)
    s.join();
  {
    std::unique_lock lock{mtx};
    REQUIRE(cv.wait_for(lock, 10s, [&] { return seen == threads * each; }));
  }
  // Held in the write buffer, with no flush asked for: close writes it.
  must(tp::publish_core(*writer, "co.last", "x"));
  writer->close();
  writer->flush_soon(); // after close: nothing to write to, nothing happens
  std::unique_lock lock{mtx};
  CHECK(cv.wait_for(lock, 10s, [&] { return seen == threads * each + 1; }));
}
