// An orchestrator process per test, with its workers and nats-server.
#pragma once

#include "../worker/worker_harness.hpp"
#include "support/command.hpp"
#include "transport/subscription.hpp"
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

using namespace smith::testing;
using json = nlohmann::json;

namespace orchestrator_testing {

inline constexpr const char* token = "s3cret-token";

/// Whether the service on 127.0.0.1:`port` answers /ready with 200 within `limit`.
inline bool ready_within(int port, std::chrono::milliseconds limit) {
  return wait_until(
    [&] {
      httplib::Client cli{"127.0.0.1", port};
      auto r = cli.Get("/ready");
      return r && r->status == 200;
    },
    limit);
}

/// One `smith orchestrator` process with its own HTTP port and log.
struct orchestrator_process {
  orchestrator_process(const std::string& nats_url, const temp_dir& dir,
                       std::map<std::string, std::string> env = {})
    : http_port(free_port()),
      log(dir.path() / ("orchestrator-" + std::to_string(http_port) + ".log")) {
    env.emplace("SMITH_NATS_URL", nats_url);
    env.emplace("SMITH_ROLES", "test");
    env.emplace("SMITH_API_TOKEN", token);
    env.emplace("SMITH_METRICS_INTERVAL", "1");
    env.emplace("SMITH_API_MAX_BODY", "200000");
    for (const auto& [k, v] : env)
      ::setenv(k.c_str(), v.c_str(), 1);
    process = child_process::spawn({smith_binary(), "orchestrator", "--http-host", "127.0.0.1",
                                    "--http-port", std::to_string(http_port)},
                                   log);
    for (const auto& [k, v] : env)
      ::unsetenv(k.c_str());
  }

  httplib::Result request(const std::string& method, const std::string& path,
                          const std::string& body = {}, const char* bearer = token) const {
    httplib::Client cli{"127.0.0.1", http_port};
    cli.set_connection_timeout(2s);
    cli.set_read_timeout(20s);
    httplib::Headers h;
    if (bearer != nullptr)
      h.emplace("Authorization", std::string{"Bearer "} + bearer);
    if (method == "GET")
      return cli.Get(path, h);
    if (method == "DELETE")
      return cli.Delete(path, h);
    return cli.Post(path, h, body, "application/json");
  }

  json call(const std::string& method, const std::string& path, const json& body = nullptr,
            int expect = 0) const {
    auto res = request(method, path, body.is_null() ? "" : body.dump());
    REQUIRE(res);
    if (expect != 0)
      CHECK_MESSAGE(res->status == expect, res->body);
    return json::parse(res->body);
  }

  bool wait_ready() {
    return ready_within(http_port, 20s);
  }

  std::string log_text() const {
    std::ifstream in{log};
    return {std::istreambuf_iterator<char>{in}, {}};
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(http_port);
  }

  int http_port;
  std::filesystem::path log;
  child_process process;
};

struct fixture : server_fixture {
  explicit fixture(tp::topology_config cfg = worker_topology())
    : server_fixture("smith-orchestrator-test-", std::move(cfg)) {
  }

  std::string state(const orchestrator_process& o, const std::string& id) {
    auto res = o.request("GET", "/v1/tasks/" + id);
    if (!res || res->status != 200)
      return res ? "http " + std::to_string(res->status) : "no answer";
    return json::parse(res->body).value("state", "");
  }
};

// Processes whose command line is exactly `argv` (to prove no child survived).
inline int processes_running(const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv)
    want += a + '\0';
  int n = 0;
  auto* d = ::opendir("/proc");
  while (auto* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    std::ifstream in{std::string{"/proc/"} + e->d_name + "/cmdline"};
    std::string cmd{std::istreambuf_iterator<char>{in}, {}};
    n += cmd == want ? 1 : 0;
  }
  ::closedir(d);
  return n;
}

/// The test topology with a second role, `idle`, that no worker serves: its tasks stay queued.
inline tp::topology_config test_and_idle() {
  auto cfg = server_fixture::worker_topology();
  cfg.roles = {"test", "idle"};
  return cfg;
}

inline std::map<std::string, std::string> cli_env(const fixture& f) {
  return {{"SMITH_NATS_URL", f.s.server.url()}, {"SMITH_ROLES", "test"}};
}

/// Runs `smith ARGS...` with `env`: over NATS, or with `via_api` through the API at `api_url`
/// with the test token.
inline auto smith_cli(std::map<std::string, std::string> env, bool via_api,
                      const std::string& api_url) {
  std::vector<std::string> api;
  if (via_api)
    api = {"--api", api_url, "--token", token};
  return [env = std::move(env), api = std::move(api)](std::vector<std::string> args) {
    args.insert(args.begin(), smith_binary());
    args.insert(args.end(), api.begin(), api.end());
    return run_command(args, env);
  };
}

} // namespace orchestrator_testing
