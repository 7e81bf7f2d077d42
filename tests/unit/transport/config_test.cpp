#include "transport/config.hpp"
#include "transport/topology.hpp"

#include <doctest/doctest.h>

#include <map>

namespace tp = smith::transport;
using namespace std::chrono_literals;

namespace {

tp::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    if (auto it = vars.find(std::string{name}); it != vars.end())
      return it->second;
    return std::nullopt;
  };
}

std::string topology_error(std::map<std::string, std::string> vars) {
  auto cfg = tp::parse_topology_config(env_of(std::move(vars)));
  REQUIRE_FALSE(cfg.has_value());
  CHECK(cfg.error().code() == tp::errc::invalid_argument);
  return cfg.error().message();
}

std::string connection_error(std::map<std::string, std::string> vars) {
  auto cfg = tp::parse_connection_config(env_of(std::move(vars)));
  REQUIRE_FALSE(cfg.has_value());
  return cfg.error().message();
}

} // namespace

TEST_CASE("durations take ms, s, m, h and d, and combinations of them") {
  CHECK(*tp::parse_duration("250ms") == 250ms);
  CHECK(*tp::parse_duration("30s") == 30s);
  CHECK(*tp::parse_duration("2m") == 120s);
  CHECK(*tp::parse_duration("1h") == 3600s);
  CHECK(*tp::parse_duration("14d") == 14 * 24h);
  CHECK(*tp::parse_duration("1m30s") == 90s);
  CHECK(*tp::parse_duration("0") == 0ms);
}

TEST_CASE("a duration without a unit, with junk or negative is refused with an example") {
  for (auto bad : {"", "5", "5x", "s", "-1s", "1.5s", "99999999999999999999d"}) {
    auto d = tp::parse_duration(bad);
    CHECK_MESSAGE(!d.has_value(), bad);
  }
  CHECK(tp::parse_duration("5").error().message().find("needs a unit") != std::string::npos);
}

TEST_CASE("no variables set gives the documented defaults") {
  auto topo = tp::parse_topology_config(env_of({}));
  REQUIRE(topo.has_value());
  CHECK(topo->prefix == "smith");
  CHECK(topo->ack_wait == 300s);
  CHECK(topo->max_deliver == 3);
  CHECK(topo->duplicate_window == 2min);
  CHECK(topo->dlq_max_age == 14 * 24h);
  CHECK(topo->roles == std::vector<std::string>{"compile", "analyze", "execute"});
  auto conn = tp::parse_connection_config(env_of({}));
  REQUIRE(conn.has_value());
  CHECK(conn->servers == std::vector<std::string>{"nats://127.0.0.1:4222"});
  CHECK(conn->retry_on_failed_connect);
}

TEST_CASE("every topology variable is read") {
  auto cfg = tp::parse_topology_config(env_of({
    {"SMITH_PREFIX", "acme"},
    {"SMITH_REPLICAS", "3"},
    {"SMITH_ACK_WAIT", "45s"},
    {"SMITH_MAX_DELIVER", "5"},
    {"SMITH_BACKOFF", "10s, 1m,5m"},
    {"SMITH_MAX_ACK_PENDING", "64"},
    {"SMITH_DUPLICATE_WINDOW", "5m"},
    {"SMITH_MAX_MSG_BYTES", "2097152"},
    {"SMITH_MAX_TASKS", "100000"},
    {"SMITH_RESULTS_MAX_AGE", "2h"},
    {"SMITH_DLQ_MAX_AGE", "7d"},
    {"SMITH_ROLES", "compile,execute"},
  }));
  REQUIRE_MESSAGE(cfg.has_value(), cfg.error().message());
  CHECK(cfg->prefix == "acme");
  CHECK(cfg->replicas == 3);
  CHECK(cfg->ack_wait == 45s);
  CHECK(cfg->max_deliver == 5);
  CHECK(cfg->backoff == std::vector<std::chrono::milliseconds>{10s, 60s, 300s});
  CHECK(cfg->max_ack_pending == 64);
  CHECK(cfg->duplicate_window == 5min);
  CHECK(cfg->max_msg_bytes == 2097152);
  CHECK(cfg->max_tasks == 100000);
  CHECK(cfg->results_max_age == 2h);
  CHECK(cfg->dlq_max_age == 7 * 24h);
  CHECK(cfg->roles == std::vector<std::string>{"compile", "execute"});
}

TEST_CASE("every connection variable is read") {
  auto cfg = tp::parse_connection_config(env_of({
    {"SMITH_NATS_URL", "nats://a:4222,tls://b:4222"},
    {"SMITH_NATS_NAME", "worker-compile"},
    {"SMITH_NATS_USER", "compile"},
    {"SMITH_NATS_PASSWORD", "secret"},
    {"SMITH_NATS_TLS_CA", "/etc/ca.pem"},
    {"SMITH_NATS_TLS_CERT", "/etc/cert.pem"},
    {"SMITH_NATS_TLS_KEY", "/etc/key.pem"},
    {"SMITH_NATS_CONNECT_TIMEOUT", "3s"},
    {"SMITH_NATS_RECONNECT_WAIT", "200ms"},
    {"SMITH_NATS_RECONNECT_WAIT_MAX", "10s"},
    {"SMITH_NATS_RECONNECT_JITTER", "1s"},
    {"SMITH_NATS_REQUEST_TIMEOUT", "8s"},
  }));
  REQUIRE_MESSAGE(cfg.has_value(), cfg.error().message());
  CHECK(cfg->servers == std::vector<std::string>{"nats://a:4222", "tls://b:4222"});
  CHECK(cfg->name == "worker-compile");
  CHECK(cfg->user == "compile");
  CHECK(cfg->password == "secret");
  CHECK(cfg->tls_ca == "/etc/ca.pem");
  CHECK(cfg->tls_cert == "/etc/cert.pem");
  CHECK(cfg->tls_key == "/etc/key.pem");
  CHECK(cfg->connect_timeout == 3s);
  CHECK(cfg->reconnect_wait == 200ms);
  CHECK(cfg->reconnect_wait_max == 10s);
  CHECK(cfg->reconnect_jitter == 1s);
  CHECK(cfg->request_timeout == 8s);
}

TEST_CASE("credentials and a TLS key can be given as text, for the memory file") {
  auto cfg = tp::parse_connection_config(env_of({
    {"SMITH_NATS_CREDS_DATA", "-----BEGIN NATS USER JWT-----\nx\n"},
    {"SMITH_NATS_TLS_CERT", "/etc/cert.pem"},
    {"SMITH_NATS_TLS_KEY_DATA", "-----BEGIN PRIVATE KEY-----\ny\n"},
  }));
  REQUIRE_MESSAGE(cfg.has_value(), cfg.error().message());
  CHECK(cfg->credentials_file.empty());
  CHECK(cfg->credentials_data == "-----BEGIN NATS USER JWT-----\nx\n");
  CHECK(cfg->tls_key.empty());
  CHECK(cfg->tls_key_data == "-----BEGIN PRIVATE KEY-----\ny\n");
}

TEST_CASE("bad topology values are refused, naming the variable and the value") {
  CHECK(topology_error({{"SMITH_REPLICAS", "three"}}).find("SMITH_REPLICAS=\"three\"") == 0);
  CHECK(topology_error({{"SMITH_REPLICAS", "7"}}).find("1 to 5") != std::string::npos);
  CHECK(topology_error({{"SMITH_ACK_WAIT", "500ms"}}).find("SMITH_ACK_WAIT") == 0);
  CHECK(topology_error({{"SMITH_MAX_DELIVER", "0"}}).find("SMITH_MAX_DELIVER") == 0);
  CHECK(topology_error({{"SMITH_MAX_DELIVER", "-1"}}).find("no horizon") != std::string::npos);
  CHECK(topology_error({{"SMITH_MAX_DELIVER", "2"}, {"SMITH_BACKOFF", "1s,2s"}})
          .find("Hint: raise SMITH_MAX_DELIVER")
        != std::string::npos);
  CHECK(topology_error({{"SMITH_BACKOFF", "1s,oops"}}).find("SMITH_BACKOFF") == 0);
  CHECK(topology_error({{"SMITH_PREFIX", "a.b"}}).find("SMITH_PREFIX") == 0);
  CHECK(topology_error({{"SMITH_ROLES", "compile,bad role"}}).find("bad role")
        != std::string::npos);
  CHECK(topology_error({{"SMITH_ROLES", " , "}}).find("SMITH_ROLES") == 0);
  CHECK(topology_error({{"SMITH_MAX_MSG_BYTES", "12"}}).find("SMITH_MAX_MSG_BYTES") == 0);
  CHECK(topology_error({{"SMITH_MAX_TASKS", "0"}}).find("SMITH_MAX_TASKS") == 0);
}

TEST_CASE("bad connection values are refused, naming the variable") {
  CHECK(connection_error({{"SMITH_NATS_URL", "http://x:4222"}}).find("nats:// or tls://")
        != std::string::npos);
  CHECK(
    connection_error({{"SMITH_NATS_TOKEN", "t"}, {"SMITH_NATS_USER", "u"}}).find("SMITH_NATS_TOKEN")
    != std::string::npos);
  CHECK(connection_error({{"SMITH_NATS_PASSWORD", "p"}}).find("SMITH_NATS_USER")
        != std::string::npos);
  CHECK(connection_error({{"SMITH_NATS_TLS_CERT", "/c.pem"}}).find("SMITH_NATS_TLS_KEY")
        != std::string::npos);
  CHECK(connection_error({{"SMITH_NATS_TLS_KEY_DATA", "-----BEGIN"}}).find("SMITH_NATS_TLS_CERT")
        != std::string::npos);
  CHECK(connection_error({{"SMITH_NATS_TLS_CERT", "/c.pem"},
                          {"SMITH_NATS_TLS_KEY", "/k.pem"},
                          {"SMITH_NATS_TLS_KEY_DATA", "-----BEGIN"}})
          .find("SMITH_NATS_TLS_KEY and SMITH_NATS_TLS_KEY_DATA are both set")
        == 0);
  CHECK(connection_error({{"SMITH_NATS_CREDS", "/smith.creds"}, {"SMITH_NATS_CREDS_DATA", "x"}})
          .find("SMITH_NATS_CREDS and SMITH_NATS_CREDS_DATA are both set")
        == 0);
  CHECK(connection_error(
          {{"SMITH_NATS_RECONNECT_WAIT", "10s"}, {"SMITH_NATS_RECONNECT_WAIT_MAX", "1s"}})
          .find("SMITH_NATS_RECONNECT_WAIT_MAX")
        != std::string::npos);
}

TEST_CASE("the redelivery horizon is AckWait times MaxDeliver, or the BackOff steps summed") {
  tp::topology_config cfg;
  CHECK(tp::redelivery_horizon(cfg) == 15min); // the shipped defaults: 5m × 3
  cfg.max_deliver = 5;
  cfg.backoff = {10s, 60s, 300s}; // the last step repeats for deliveries past the list
  CHECK(tp::redelivery_horizon(cfg) == 10s + 60s + 300s + 300s + 300s);
  CHECK(tp::duration_text(15min) == "15m");
  CHECK(tp::duration_text(970s) == "16m10s");
  CHECK(tp::duration_text(1500ms) == "1500ms");
  CHECK(tp::duration_text(14 * 24h) == "14d");
}

TEST_CASE("at the shipped defaults results and dead letters dedup over the whole horizon") {
  auto cfg = tp::parse_topology_config(env_of({}));
  REQUIRE(cfg.has_value());
  auto horizon = tp::redelivery_horizon(*cfg);
  CHECK(horizon > cfg->duplicate_window); // 15m against 2m: the case that re-ran tasks
  auto t = tp::declare(*cfg);
  int checked = 0;
  for (const auto& s : t.streams) {
    if (s.name == "SMITH_RESULTS" || s.name == "SMITH_DLQ") {
      CHECK(s.duplicate_window >= horizon);
      CHECK(s.max_age >= s.duplicate_window); // the server refuses a window past max_age
      ++checked;
    }
    if (s.name == "SMITH_TASKS")
      CHECK(s.duplicate_window == cfg->duplicate_window); // submit dedup as configured
  }
  CHECK(checked == 2);
  // The consumers the horizon was computed from are the ones declared.
  for (const auto& c : t.consumers)
    if (c.durable.starts_with("role-")) {
      CHECK(c.ack_wait == cfg->ack_wait);
      CHECK(c.max_deliver == cfg->max_deliver);
    }
}

TEST_CASE("results or dead letters that expire inside the horizon are refused, naming both") {
  auto msg = topology_error({{"SMITH_RESULTS_MAX_AGE", "10m"}});
  CHECK(msg.find("SMITH_RESULTS_MAX_AGE=10m") == 0);
  CHECK(msg.find("redelivery horizon 15m (SMITH_ACK_WAIT=5m × SMITH_MAX_DELIVER=3)")
        != std::string::npos);
  msg = topology_error({{"SMITH_DLQ_MAX_AGE", "1m"}, {"SMITH_BACKOFF", "1m,2m"}});
  CHECK(msg.find("SMITH_DLQ_MAX_AGE=1m") == 0);
  CHECK(msg.find("SMITH_BACKOFF=1m,2m over SMITH_MAX_DELIVER=3") != std::string::npos);
  CHECK(tp::parse_topology_config(env_of({{"SMITH_RESULTS_MAX_AGE", "15m"}})).has_value());
}
