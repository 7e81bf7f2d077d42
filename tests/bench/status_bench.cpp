// Status cost by queue depth: with N tasks queued (no worker takes them), how long status of a
// queued task takes (task_service::status, as the HTTP API and the CLI call it). Wire version 2
// names the id in the task subject, so it should not depend on N; version 1 read the queue.
//
//   status_bench [--depths 1000,100000] [--lookups 200] [--json PATH]
#include "must.hpp"
#include "services/orchestrator/task_service.hpp"
#include "support/nats_server.hpp"
#include "transport/library.hpp"
#include "transport/publisher.hpp"
#include "transport/topology.hpp"

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace tp = smith::transport;
namespace orch = smith::services::orchestrator;
using smith::bench::die;
using smith::bench::median;
using smith::bench::must;
using namespace std::chrono_literals;

namespace {

struct args {
  std::vector<int> depths{1'000, 100'000};
  int lookups = 200;
  std::string json;
};

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        die(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--depths")
      a.depths = smith::bench::parse_counts(flag, next(), 10'000'000,
                                            "a list of queue depths such as 1000,100000");
    else if (flag == "--lookups")
      a.lookups = smith::bench::parse_counts(flag, next(), 1'000'000, "a count")[0];
    else if (flag == "--json")
      a.json = next();
    else
      die("status_bench: unknown flag " + flag + " (--depths, --lookups, --json)");
  }
  std::sort(a.depths.begin(), a.depths.end());
  return a;
}

std::string id_of(int i) {
  return "q-" + std::to_string(i);
}

} // namespace

int main(int argc, char** argv) {
  auto a = parse(argc, argv);
  tp::library lib;
  smith::testing::nats_server server;
  tp::connection_config cc;
  cc.servers = {server.url()};
  cc.retry_on_failed_connect = false;
  auto conn = must(tp::connection::connect(cc));
  tp::topology_config cfg;
  cfg.roles = {"bench"};
  must(tp::apply(*conn, tp::declare(cfg)));
  tp::wire::subjects names{cfg.prefix};
  auto pub = must(tp::publisher::create(conn, {}));
  orch::task_service svc{conn, cfg};
  std::mt19937 rng{42};
  std::FILE* out = a.json.empty() ? nullptr : std::fopen(a.json.c_str(), "a");
  if (!a.json.empty() && out == nullptr)
    die("cannot append to " + a.json);
  int queued = 0;
  double first_ms = 0;
  for (int depth : a.depths) {
    tp::wire::task t;
    t.type = "echo";
    t.payload.assign(256, 'x');
    for (; queued < depth; ++queued) {
      t.id = id_of(queued);
      must(pub->publish_async(must(tp::task_message(names, "bench", t))));
    }
    must(pub->wait_complete(120s));
    // Ids anywhere in the queue, the newest included: each lookup is timed on its own.
    std::vector<double> ms;
    std::uniform_int_distribution<int> pick{0, depth - 1};
    for (int i = 0; i < a.lookups; ++i) {
      auto id = i == 0 ? id_of(depth - 1) : id_of(pick(rng));
      auto start = std::chrono::steady_clock::now();
      auto st = svc.status(id);
      ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
          .count());
      if (st.value("state", "") != "queued")
        die("status of " + id + " says " + st.dump() + ", not queued");
    }
    auto med = median(ms);
    if (first_ms == 0)
      first_ms = med;
    std::printf("status of a queued task at depth %7d: median %.3f ms over %d lookups (%.2fx the "
                "shallowest)\n",
                depth, med, a.lookups, med / first_ms);
    if (out != nullptr)
      std::fprintf(out,
                   "{\"bench\":\"status\",\"system\":\"smith\",\"metric\":\"status_ms\","
                   "\"depth\":%d,\"value\":%.4f}\n",
                   depth, med);
  }
  if (out != nullptr)
    std::fclose(out);
  return 0;
}
