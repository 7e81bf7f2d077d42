// Runs real `smith worker` processes against a real nats-server, publishes tasks with the
// transport layer and collects results from core NATS.
#pragma once

#include "../transport/harness.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "transport/handle.hpp"

#include <httplib.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>

namespace smith::testing {

inline std::string smith_binary() {
  const char* bin = std::getenv("SMITH_BIN");
  REQUIRE_MESSAGE(bin != nullptr, "SMITH_BIN is not set: run through meson test");
  return bin;
}

/// One `smith worker` process with its own HTTP port and log file.
struct worker_process {
  /// `command` runs the worker: `smith worker` unless given (a custom worker binary).
  worker_process(const std::string& nats_url, const temp_dir& dir, std::vector<std::string> args,
                 std::map<std::string, std::string> env = {}, std::vector<std::string> command = {})
    : http_port(free_port()), log(dir.path() / ("worker-" + std::to_string(http_port) + ".log")) {
    ::setenv("SMITH_NATS_URL", nats_url.c_str(), 1);
    ::setenv("SMITH_ROLES", "test", 1);
    for (const auto& [k, v] : env)
      ::setenv(k.c_str(), v.c_str(), 1);
    auto argv = command.empty() ? std::vector<std::string>{smith_binary(), "worker"} : command;
    for (const char* a : {"--role", "test", "--http-host", "127.0.0.1", "--http-port"})
      argv.emplace_back(a);
    argv.push_back(std::to_string(http_port));
    argv.insert(argv.end(), args.begin(), args.end());
    process = child_process::spawn(argv, log);
    for (const auto& [k, v] : env)
      ::unsetenv(k.c_str());
  }

  int status(const std::string& path) const {
    httplib::Client cli{"127.0.0.1", http_port};
    cli.set_connection_timeout(std::chrono::seconds{1});
    auto res = cli.Get(path.c_str());
    return res ? res->status : 0;
  }

  std::string metrics() const {
    httplib::Client cli{"127.0.0.1", http_port};
    auto res = cli.Get("/metrics");
    return res ? res->body : "";
  }

  bool wait_ready() {
    return wait_until([&] { return status("/ready") == 200; }, 20s);
  }

  std::string log_text() const {
    std::ifstream in{log};
    return {std::istreambuf_iterator<char>{in}, {}};
  }

  int http_port;
  std::filesystem::path log;
  child_process process;
};

/// Collects every result published on smith.result.> (core NATS, so subscribe first).
struct result_collector {
  explicit result_collector(tp::connection& conn) {
    natsSubscription* raw = nullptr;
    REQUIRE(natsConnection_Subscribe(&raw, conn.native(), "smith.result.>", &on_msg, this)
            == NATS_OK);
    sub.reset(raw);
    natsSubscription_SetPendingLimits(raw, -1, -1);
    REQUIRE(natsConnection_FlushTimeout(conn.native(), 2000) == NATS_OK);
  }

  static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
    tp::msg_handle hold{msg};
    auto* c = static_cast<result_collector*>(self);
    auto r = tp::wire::decode_result(
      {natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))});
    std::lock_guard guard{c->mtx};
    if (r)
      c->results[r->id].push_back(*r);
    else
      ++c->undecodable;
  }

  std::size_t distinct() {
    std::lock_guard guard{mtx};
    return results.size();
  }

  std::optional<tp::wire::result> get(const std::string& id) {
    std::lock_guard guard{mtx};
    auto it = results.find(id);
    if (it == results.end())
      return std::nullopt;
    return it->second.back();
  }

  std::size_t duplicates() {
    std::lock_guard guard{mtx};
    std::size_t n = 0;
    for (auto& [id, rs] : results)
      n += rs.size() - 1;
    return n;
  }

  std::mutex mtx;
  std::map<std::string, std::vector<tp::wire::result>> results;
  int undecodable = 0;
  tp::subscription_handle sub;
};

inline tp::wire::task task_of(const std::string& id, const std::string& type, std::string payload);

/// A real nats-server with the test topology (AckWait 2s, MaxDeliver 3 unless given), a
/// collector of every published result, and a directory for the processes' logs.
struct server_fixture {
  explicit server_fixture(const std::string& dir_prefix,
                          tp::topology_config cfg = worker_topology())
    : s(std::move(cfg)), results(*s.conn), dir(dir_prefix) {
  }

  static tp::topology_config worker_topology() {
    auto cfg = test_topology();
    cfg.ack_wait = std::chrono::seconds{2};
    cfg.max_deliver = 3;
    return cfg;
  }

  void publish(const std::string& id, const std::string& type, std::string payload) {
    s.publish(task_of(id, type, std::move(payload)));
  }

  bool wait_results(std::size_t n,
                    std::chrono::milliseconds deadline = std::chrono::milliseconds{60'000}) {
    return wait_until([&] { return results.distinct() >= n; }, deadline);
  }

  single_server s;
  result_collector results;
  temp_dir dir;
};

inline tp::wire::task task_of(const std::string& id, const std::string& type, std::string payload) {
  tp::wire::task t;
  t.id = id;
  t.type = type;
  t.payload = std::move(payload);
  t.created_ms = 1;
  return t;
}

// Messages and distinct subjects stored in a stream.
inline std::pair<std::uint64_t, std::int64_t> stream_counts(tp::connection& conn,
                                                            const char* stream) {
  jsStreamInfo* raw = nullptr;
  if (js_GetStreamInfo(&raw, conn.jetstream(), stream, nullptr, nullptr) != NATS_OK)
    return {0, 0};
  tp::stream_info_handle si{raw};
  return {si->State.Msgs, si->State.NumSubjects};
}

inline std::uint64_t stream_msgs(tp::connection& conn, const std::string& stream) {
  jsStreamInfo* raw = nullptr;
  if (js_GetStreamInfo(&raw, conn.jetstream(), stream.c_str(), nullptr, nullptr) != NATS_OK)
    return 0;
  tp::stream_info_handle si{raw};
  return si->State.Msgs;
}

} // namespace smith::testing
