#include "harness.hpp"
#include "support/command.hpp"

#include "transport/clock.hpp"
#include "transport/stream_reader.hpp"
#include "transport/subscription.hpp"
#include "transport/wire/headers.hpp"

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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

TEST_CASE("credentials given as text log in from a memory file, again at each reconnect") {
  const char* fixtures = std::getenv("SMITH_TEST_FIXTURES");
  REQUIRE_MESSAGE(fixtures != nullptr, "SMITH_TEST_FIXTURES is not set: run through meson test");
  auto dir = std::filesystem::path{fixtures} / "operator";
  auto text = [](const std::filesystem::path& p) {
    std::ifstream in{p};
    REQUIRE(in.good());
    return std::string{std::istreambuf_iterator<char>{in}, {}};
  };
  nats_server server{with_config(text(dir / "server.conf"))};
  auto cc = config_for(server);
  // Operator mode: no credentials, no login.
  auto none = tp::connection::connect(cc);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code() == tp::errc::not_permitted);

  cc.credentials_data = text(dir / "user.creds");
  cc.retry_on_failed_connect = true;
  auto conn = must(tp::connection::connect(cc));
  CHECK(conn->connected());
  // The memory file: open only here, closed on exec, on no disk.
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc/self/fd"}) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (target.find("memfd:smith-nats-creds") == std::string::npos)
      continue;
    ++found;
    auto fd = std::stoi(entry.path().filename().string());
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(text(entry.path()) == cc.credentials_data);
  }
  CHECK(found == 1);

  // nats.c reads the credentials again to log in after a reconnect.
  event_log log;
  conn->add_listener([&](const tp::connection_event& ev) { log.add(ev); });
  server.kill();
  REQUIRE(wait_until([&] { return log.saw(tp::connection_event_kind::disconnected); }, 10s));
  server.start();
  REQUIRE(wait_until([&] { return log.saw(tp::connection_event_kind::reconnected); }, 15s));
  CHECK(conn->connected());
  conn->close();

  // A damaged seed logs nobody in, and that is final (not worth a retry).
  auto bad = cc;
  bad.retry_on_failed_connect = false;
  auto at = bad.credentials_data.find("SUA");
  REQUIRE(at != std::string::npos);
  auto& c = bad.credentials_data[at + 10];
  c = c == 'A' ? 'B' : 'A';
  auto refused = tp::connection::connect(bad);
  REQUIRE_FALSE(refused.has_value());
  CHECK_FALSE(refused.error().retryable());
}

TEST_CASE("a TLS client key given as text logs in with its certificate; a bad one is an error") {
  const char* fixtures = std::getenv("SMITH_TEST_FIXTURES");
  REQUIRE_MESSAGE(fixtures != nullptr, "SMITH_TEST_FIXTURES is not set: run through meson test");
  auto dir = std::filesystem::path{fixtures} / "tls";
  auto path = [&](const char* name) { return (dir / name).string(); };
  // Mutual TLS: the server asks for a client certificate signed by the test CA.
  nats_server server{with_config("tls { cert_file: \"" + path("server.pem") + "\", key_file: \""
                                 + path("server-key.pem") + "\", ca_file: \"" + path("ca.pem")
                                 + "\", verify: true }")};
  auto cc = config_for(server);
  cc.tls_ca = path("ca.pem");
  // Without a client certificate the server refuses.
  CHECK_FALSE(tp::connection::connect(cc).has_value());

  std::ifstream in{dir / "client-key.pem"};
  cc.tls_cert = path("client.pem");
  cc.tls_key_data = std::string{std::istreambuf_iterator<char>{in}, {}};
  auto conn = tp::connection::connect(cc);
  REQUIRE_MESSAGE(conn.has_value(), conn.error().to_string());
  CHECK((*conn)->connected());
  (*conn)->close();

  // A program that used TLS ends cleanly: nats.c 3.4.1 and OpenSSL 3 both freed the same list
  // at exit (SIGSEGV or abort after the work was done), until transport::library took it away.
  const char* smith = std::getenv("SMITH_BIN");
  REQUIRE_MESSAGE(smith != nullptr, "SMITH_BIN is not set: run through meson test");
  for (const auto& [var, value] :
       {std::pair<std::string, std::string>{"SMITH_NATS_TLS_KEY", path("client-key.pem")},
        {"SMITH_NATS_TLS_KEY_DATA", cc.tls_key_data}}) {
    auto r = run_command({smith, "topology", "apply"},
                         {{"SMITH_NATS_URL", server.url()},
                          {"SMITH_NATS_TLS_CA", cc.tls_ca},
                          {"SMITH_NATS_TLS_CERT", cc.tls_cert},
                          {var, value}},
                         {}, 30s);
    CHECK_MESSAGE(r.exit_code == 0, var << ": " << r.out << r.err);
    CHECK(r.out.find("SMITH_TASKS") != std::string::npos);
  }

  cc.tls_key_data = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  auto bad = tp::connection::connect(cc);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code() == tp::errc::tls);
  CHECK(bad.error().message().find("SMITH_NATS_TLS_KEY_DATA") != std::string::npos);
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
