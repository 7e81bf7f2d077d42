// How a connection logs in and secures itself: user and password, token, credentials as a
// file or as text (operator mode, tests/fixtures/operator), mutual TLS (tests/fixtures/tls).
#include "connection_helpers.hpp"
#include "support/command.hpp"

#include <filesystem>
#include <fstream>

#include <fcntl.h>

using namespace smith::testing;

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
  for (const auto& key :
       {std::pair<std::string, std::string>{"SMITH_NATS_TLS_KEY", path("client-key.pem")},
        {"SMITH_NATS_TLS_KEY_DATA", cc.tls_key_data}}) {
    auto r = run_command({smith, "topology", "apply"},
                         {{"SMITH_NATS_URL", server.url()},
                          {"SMITH_NATS_TLS_CA", cc.tls_ca},
                          {"SMITH_NATS_TLS_CERT", cc.tls_cert},
                          key},
                         {}, 30s);
    CHECK_MESSAGE(r.exit_code == 0, key.first << ": " << r.out << r.err);
    CHECK(r.out.find("SMITH_TASKS") != std::string::npos);
  }

  cc.tls_key_data = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  auto bad = tp::connection::connect(cc);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code() == tp::errc::tls);
  CHECK(bad.error().message().find("SMITH_NATS_TLS_KEY_DATA") != std::string::npos);
}
