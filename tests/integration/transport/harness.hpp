// What every transport integration test needs: a real server, a connection, the topology
// applied with test-sized timeouts, and small helpers to publish and drain tasks.
#pragma once

#include "support/nats_server.hpp"
#include "support/wait.hpp"
#include "transport/connection.hpp"
#include "transport/publisher.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/topology.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/subjects.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace smith::testing {

using namespace std::chrono_literals;
namespace tp = smith::transport;

/// Unwraps an expected, failing the test with the error's text when there is none.
template <class T>
T must(tp::expected<T> value) {
  if (!value)
    FAIL(value.error().to_string());
  return std::move(*value);
}

inline void must(tp::expected<void> value) {
  if (!value)
    FAIL(value.error().to_string());
}

inline tp::topology_config test_topology() {
  tp::topology_config cfg;
  cfg.roles = {"test"};
  cfg.ack_wait = 1s;
  cfg.max_deliver = 3;
  cfg.max_msg_bytes = 64 * 1024;
  return cfg;
}

inline std::shared_ptr<tp::connection> connect_to(const std::string& urls) {
  tp::connection_config cc;
  cc.servers.clear();
  for (std::size_t pos = 0; pos <= urls.size();) {
    auto end = urls.find(',', pos);
    if (end == std::string::npos)
      end = urls.size();
    cc.servers.push_back(urls.substr(pos, end - pos));
    pos = end + 1;
  }
  cc.name = "smith-test";
  cc.reconnect_wait = 50ms;
  cc.reconnect_wait_max = 500ms;
  cc.reconnect_jitter = 50ms;
  return must(tp::connection::connect(cc));
}

inline tp::wire::task make_task(const std::string& id, std::string payload = "payload") {
  tp::wire::task t;
  t.id = id;
  t.type = "echo";
  t.payload = std::move(payload);
  t.created_ms = 1;
  return t;
}

struct single_server {
  explicit single_server(tp::topology_config cfg = test_topology())
    : topo(std::move(cfg)), names(topo.prefix) {
    conn = connect_to(server.url());
    must(tp::apply(*conn, tp::declare(topo)));
    pub = must(tp::publisher::create(conn, {}));
  }

  std::unique_ptr<tp::pull_consumer> consumer(const std::string& role = "test") {
    return must(
      tp::pull_consumer::bind(conn, names.tasks_stream(), tp::wire::subjects::consumer(role)));
  }

  tp::publish_ack publish(const tp::wire::task& t, const std::string& role = "test") {
    auto msg = must(tp::task_message(names, role, t));
    return must(pub->publish(msg, 5s));
  }

  nats_server server;
  tp::topology_config topo;
  tp::wire::subjects names;
  std::shared_ptr<tp::connection> conn;
  std::unique_ptr<tp::publisher> pub;
};

} // namespace smith::testing
