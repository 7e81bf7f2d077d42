// Proves the test fixtures themselves: servers and clusters start, answer JetStream over nats.c,
// survive kill and restart with their store, and leave nothing behind.
#include "support/command.hpp"
#include "support/nats_cluster.hpp"
#include "support/nats_server.hpp"
#include "support/wait.hpp"

#include "transport/handle.hpp"

#include <doctest/doctest.h>
#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

using namespace std::chrono_literals;
using smith::testing::nats_cluster;
using smith::testing::nats_server;
using smith::testing::wait_until;
using json = nlohmann::json;

smith::transport::connection_handle connect(const std::string& url) {
  natsConnection* nc = nullptr;
  auto status = natsConnection_ConnectTo(&nc, url.c_str());
  REQUIRE_MESSAGE(status == NATS_OK, "connect to ", url, ": ", natsStatus_GetText(status));
  return smith::transport::connection_handle{nc};
}

// A raw request, as the JetStream API takes them; an empty object if nobody answered in time.
json request(natsConnection* nc, const std::string& subject, const std::string& payload,
             int timeout_ms = 5000) {
  natsMsg* raw = nullptr;
  auto status =
    natsConnection_RequestString(&raw, nc, subject.c_str(), payload.c_str(), timeout_ms);
  smith::transport::msg_handle msg{raw};
  if (status != NATS_OK)
    return json::object();
  return json::parse(std::string(natsMsg_GetData(msg.get()),
                                 static_cast<std::size_t>(natsMsg_GetDataLength(msg.get()))),
                     nullptr, false);
}

json create_stream(natsConnection* nc, const std::string& name, int replicas) {
  json config{
    {"name", name}, {"subjects", {name + ".>"}}, {"storage", "file"}, {"num_replicas", replicas}};
  return request(nc, "$JS.API.STREAM.CREATE." + name, config.dump());
}

json stream_info(natsConnection* nc, const std::string& name) {
  return request(nc, "$JS.API.STREAM.INFO." + name, "");
}

// A JetStream publish through a plain request: the reply is the PubAck.
bool publish_acked(natsConnection* nc, const std::string& subject) {
  auto ack = request(nc, subject, "hello", 2000);
  return ack.contains("seq") && !ack.contains("error");
}

// A listening socket without SOCK_CLOEXEC, as a careless test might hold one.
int listen_on_free_port(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(fd, 1) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port = ntohs(addr.sin_port);
  return fd;
}

} // namespace

TEST_CASE("wait_until returns true once the condition holds and false at the deadline") {
  int calls = 0;
  CHECK(wait_until([&] { return ++calls == 3; }, 1000ms, 1ms));
  CHECK(calls == 3);
  CHECK_FALSE(wait_until([] { return false; }, 30ms, 5ms));
}

TEST_CASE("a server starts with JetStream and answers a JetStream API request over nats.c") {
  nats_server server;
  CHECK(server.running());
  CHECK(server.url() == "nats://127.0.0.1:" + std::to_string(server.port()));
  CHECK(server.port() != server.monitor_port());
  CHECK(server.healthy());
  auto nc = connect(server.url());
  auto info = request(nc.get(), "$JS.API.INFO", "");
  INFO(info.dump());
  CHECK(info.value("type", "") == "io.nats.jetstream.api.v1.account_info_response");
  CHECK_FALSE(info.contains("error"));
}

TEST_CASE("a killed server restarted on the same port and store keeps its stream") {
  nats_server server;
  auto port = server.port();
  {
    auto nc = connect(server.url());
    auto created = create_stream(nc.get(), "ORDERS", 1);
    INFO(created.dump());
    REQUIRE_FALSE(created.contains("error"));
    REQUIRE(publish_acked(nc.get(), "ORDERS.new"));
  }
  auto old_pid = server.pid();
  server.kill();
  CHECK_FALSE(server.running());
  CHECK(server.pid() == -1);
  CHECK(::kill(old_pid, 0) != 0);
  server.start();
  CHECK(server.running());
  CHECK(server.port() == port);
  auto nc = connect(server.url());
  auto info = stream_info(nc.get(), "ORDERS");
  INFO(info.dump());
  CHECK(info["state"]["messages"] == 1);
}

TEST_CASE("a stopped server exits on SIGTERM and starts again") {
  nats_server server;
  CHECK(server.stop());
  CHECK_FALSE(server.running());
  server.start();
  CHECK(server.healthy());
  CHECK_THROWS_AS(server.start(), std::logic_error);
}

TEST_CASE("the store directory is removed when the server fixture is destroyed") {
  std::filesystem::path dir;
  pid_t pid = -1;
  {
    nats_server server;
    dir = server.store_dir();
    pid = server.pid();
    CHECK(std::filesystem::exists(dir / "jetstream"));
    CHECK(std::filesystem::exists(server.config_file()));
    CHECK(server.log_tail(50).find("Server is ready") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(dir));
  CHECK(::kill(pid, 0) != 0);
}

TEST_CASE("a server that cannot start fails with the reason from its log") {
  smith::testing::server_options options;
  options.extra_config = "jetstream { store_dir: 42 } }";
  try {
    nats_server server{options};
    FAIL("the server started with a broken config");
  } catch (const std::runtime_error& err) {
    std::string what = err.what();
    INFO(what);
    CHECK(what.find("exited during start-up") != std::string::npos);
    CHECK(what.find("nats.conf") != std::string::npos);
  }
}

TEST_CASE("a fixed port that is taken raises port_in_use, and held sockets are not inherited") {
  int port = 0;
  int fd = listen_on_free_port(port);
  smith::testing::server_options fixed;
  fixed.port = port;
  CHECK_THROWS_AS(nats_server{fixed}, smith::testing::port_in_use);
  {
    // The server starts while the test holds the socket; if the child inherited it, the
    // port would stay bound after the test closes it.
    nats_server server;
    close(fd);
    int again = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    CHECK(bind(again, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    CHECK(listen(again, 1) == 0);
    close(again);
  }
}

TEST_CASE("a three-node cluster elects a meta leader and takes a stream with three replicas") {
  nats_cluster cluster;
  REQUIRE(cluster.size() == 3);
  auto leader = cluster.leader();
  REQUIRE(leader.has_value());
  auto nc = connect(cluster.urls());
  auto created = create_stream(nc.get(), "JOBS", 3);
  INFO(created.dump());
  REQUIRE_FALSE(created.contains("error"));
  CHECK(created["config"]["num_replicas"] == 3);
  CHECK(created["cluster"]["replicas"].size() == 2);
  CHECK(publish_acked(nc.get(), "JOBS.new"));
}

TEST_CASE("a cluster with a follower killed still answers on the other two and takes it back") {
  nats_cluster cluster;
  auto leader = cluster.leader();
  REQUIRE(leader.has_value());
  {
    auto nc = connect(cluster.urls());
    auto created = create_stream(nc.get(), "TASKS", 3);
    INFO(created.dump());
    REQUIRE_FALSE(created.contains("error"));
    REQUIRE(publish_acked(nc.get(), "TASKS.new"));
  }
  auto victim = (*leader + 1) % cluster.size();
  cluster.kill(victim);
  CHECK_FALSE(cluster.node(victim).running());
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (i == victim)
      continue;
    CAPTURE(i);
    auto nc = connect(cluster.node(i).url());
    auto info = request(nc.get(), "$JS.API.INFO", "");
    INFO(info.dump());
    CHECK(info.value("type", "") == "io.nats.jetstream.api.v1.account_info_response");
    CHECK_FALSE(info.contains("error"));
    // The stream's own leader may have been the victim; its election is a condition to wait
    // for, not an error.
    CHECK(wait_until([&] { return publish_acked(nc.get(), "TASKS.new"); }, 20s, 100ms));
  }
  cluster.wait_ready();
  CHECK(cluster.leader() == leader);
  cluster.start(victim);
  CHECK(cluster.node(victim).running());
  auto nc = connect(cluster.node(victim).url());
  auto info = stream_info(nc.get(), "TASKS");
  INFO(info.dump());
  CHECK(info["state"]["messages"] == 3);
}

TEST_CASE("a test case that runs past its limit ends the run with the stacks of its threads and "
          "the goroutines of its nats-server; a malformed limit is refused") {
  const char* probe = std::getenv("HANG_PROBE");
  REQUIRE_MESSAGE(probe != nullptr, "HANG_PROBE is not set: run through meson test");
  auto r = smith::testing::run_command({probe}, {{"SMITH_TEST_CASE_LIMIT", "1"}}, {}, 150s);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("test case \"the probe that never ends\" has run") != std::string::npos);
  CHECK(r.err.find("block_forever") != std::string::npos); // the hung thread, by gdb
  CHECK(r.err.find("goroutine ") != std::string::npos);    // the server's SIGQUIT dump
  CHECK(r.err.find("ending the run") != std::string::npos);

  auto bad = smith::testing::run_command({probe}, {{"SMITH_TEST_CASE_LIMIT", "5m"}}, {}, 30s);
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("SMITH_TEST_CASE_LIMIT must be a whole number of seconds")
        != std::string::npos);
}
