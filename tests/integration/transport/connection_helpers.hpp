// What the connection tests share: a config for one server, a server with extra config, and
// a log of connection events.
#pragma once

#include "harness.hpp"

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace smith::testing {

inline tp::connection_config config_for(const nats_server& server) {
  tp::connection_config cc;
  cc.servers = {server.url()};
  cc.retry_on_failed_connect = false;
  return cc;
}

inline server_options with_config(std::string extra) {
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

} // namespace smith::testing
