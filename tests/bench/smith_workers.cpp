#include "smith_workers.hpp"

#include "must.hpp"
#include "proc_stats.hpp"
#include "raw_pipeline.hpp"
#include "support/nats_server.hpp"
#include "support/wait.hpp"
#include "transport/config.hpp"
#include "transport/connection.hpp"
#include "transport/handle.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/topology.hpp"
#include "transport/wire/subjects.hpp"

#include <httplib.h>
#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>

extern char** environ;

namespace smith::bench {

namespace tp = smith::transport;
using namespace std::chrono_literals;

namespace {

// A shell's SMITH_LOG_LEVEL or SMITH_CONCURRENCY would quietly change what we measure.
void clear_smith_environment() {
  std::vector<std::string> names;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view var{*e};
    if (var.starts_with("SMITH_") && !var.starts_with("SMITH_NATS_URL="))
      names.emplace_back(var.substr(0, var.find('=')));
  }
  // SMITH_NATS_URL is ours, set below for every start.
  for (const auto& name : names) {
    std::printf("  (not passed to the workers: %s)\n", name.c_str());
    ::unsetenv(name.c_str());
  }
}

std::string log_tail(const std::filesystem::path& path, std::size_t lines = 15) {
  std::ifstream in{path};
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines)
      last.pop_front();
  }
  std::string out;
  for (const auto& l : last)
    out += "\n  " + l;
  return out;
}

bool ready(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(0, 200'000);
  client.set_read_timeout(1, 0);
  auto res = client.Get("/ready");
  return res && res->status == 200;
}

} // namespace

void apply_default_topology(const tp::connection& conn) {
  tp::topology_config cfg;
  cfg.roles = {"bench"};
  must(tp::apply(conn, tp::declare(cfg)));
}

smith_workers::smith_workers(const std::string& smith, const std::string& url, int count,
                             const tp::connection& conn, const std::vector<std::string>& extra) {
  auto exe = std::filesystem::absolute(smith);
  if (!std::filesystem::exists(exe))
    die("no smith binary at " + exe.string() + "; build it first (target services/smith)");
  clear_smith_environment();
  ::setenv("SMITH_NATS_URL", url.c_str(), 1);
  std::vector<int> ports;
  for (int i = 0; i < count; ++i) {
    // On loopback and a port of their own: the default 0.0.0.0:8080 fits one worker per host.
    ports.push_back(testing::free_port());
    std::vector<std::string> argv{exe.string(),  "worker",      "--role",
                                  "bench",       "--http-port", std::to_string(ports.back()),
                                  "--http-host", "127.0.0.1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    procs_.push_back(testing::child_process::spawn(argv, log(i)));
  }
  for (int i = 0; i < count; ++i) {
    auto up = testing::wait_until(
      [&] {
        if (!procs_[i].running())
          die("smith worker " + std::to_string(i) + " " + procs_[i].describe_exit()
              + "; last lines of " + log(i).string() + ":" + log_tail(log(i)));
        return ready(ports[i]);
      },
      60s);
    if (!up)
      die("smith worker " + std::to_string(i) + " did not answer /ready within 60 s; last lines of "
          + log(i).string() + ":" + log_tail(log(i)));
  }
  // Ready means bound; tasks published before its first pull request would wait for it.
  auto pulling = testing::wait_until(
    [&] {
      auto ci = tp::consumer_info(conn, "SMITH_TASKS", tp::wire::subjects::consumer("bench"));
      return ci && ci->num_waiting > 0;
    },
    30s, 5ms);
  if (!pulling)
    die("the workers are ready but none pulls from SMITH_TASKS/role-bench; see " + log(0).string());
}

smith_workers::~smith_workers() {
  for (auto& p : procs_)
    p.terminate(30s);
}

double smith_workers::cpu_seconds() const {
  double sum = 0;
  for (const auto& p : procs_)
    sum += bench::cpu_seconds(p.pid());
  return sum;
}

long smith_workers::max_status_kib(std::string_view field) const {
  long most = 0;
  for (const auto& p : procs_)
    most = std::max(most, status_kib(p.pid(), field));
  return most;
}

std::optional<int> smith_workers::concurrency(const tp::connection& conn) {
  natsMsg* raw = nullptr;
  auto subject = tp::wire::subjects{}.worker_ping();
  if (natsConnection_RequestString(&raw, conn.native(), subject.c_str(), "", 2000) != NATS_OK)
    return std::nullopt;
  tp::msg_handle reply{raw};
  std::string_view data{natsMsg_GetData(raw), static_cast<std::size_t>(natsMsg_GetDataLength(raw))};
  auto body = nlohmann::json::parse(data, nullptr, false);
  if (!body.is_object() || !body.contains("concurrency") || !body["concurrency"].is_number())
    return std::nullopt;
  return body["concurrency"].get<int>();
}

std::filesystem::path smith_workers::log(int i) const {
  return dir_.path() / ("worker-" + std::to_string(i) + ".log");
}

} // namespace smith::bench
