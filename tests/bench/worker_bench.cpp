// End-to-end benchmark: no-op (echo) tasks of 256 B through a real `smith worker` process
// (publish -> worker -> result in SMITH_RESULTS), against the raw nats.c pipeline on the same
// server in the same run. Rounds alternate so both see the same machine; the ratio of medians
// is what we quote. Also prints the worker's resident memory while idle.
#include "raw_pipeline.hpp"
#include "support/child_process.hpp"
#include "support/nats_server.hpp"
#include "support/temp_dir.hpp"
#include "transport/connection.hpp"
#include "transport/handle.hpp"
#include "transport/library.hpp"
#include "transport/publisher.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/topology.hpp"
#include "transport/wire/envelope.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tp = smith::transport;
using smith::bench::die;
using smith::bench::seconds_since;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct args {
  int tasks = 50'000;
  int rounds = 3;
  int concurrency = 64;
  std::string smith; // path of the smith binary
};

// A worker configuration to measure: the default, and one tuned for tiny tasks.
struct profile {
  const char* name;
  int concurrency;
  const char* send_asap; // SMITH_NATS_SEND_ASAP
};

template <class T>
T must(tp::expected<T> v) {
  if (!v)
    die(v.error().to_string());
  return std::move(*v);
}

void must(tp::expected<void> v) {
  if (!v)
    die(v.error().to_string());
}

// Polls `pred` until it holds or `limit` passes; a benchmark waits on conditions, not sleeps.
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit) {
  auto until = clock_type::now() + limit;
  while (!pred()) {
    if (clock_type::now() > until)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

long rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

struct counter {
  std::atomic<int> results{0};

  static void on_msg(natsConnection*, natsSubscription*, natsMsg* m, void* self) {
    tp::msg_handle hold{m};
    static_cast<counter*>(self)->results.fetch_add(1, std::memory_order_relaxed);
  }
};

class worker_run {
public:
  worker_run(const args& a, const profile& p, const std::string& url) : a_(a) {
    tp::connection_config cc;
    cc.servers = {url};
    cc.retry_on_failed_connect = false;
    conn_ = must(tp::connection::connect(cc));
    tp::topology_config cfg;
    cfg.roles = {"bench"};
    cfg.max_ack_pending = 100'000;
    cfg.max_msg_bytes = 1 << 20;
    must(tp::apply(*conn_, tp::declare(cfg)));
    pub_ = must(tp::publisher::create(conn_, {}));
    natsSubscription* raw = nullptr;
    if (natsConnection_Subscribe(&raw, conn_->native(), "smith.result.>", &counter::on_msg, &count_)
        != NATS_OK)
      die("subscribe to results");
    sub_.reset(raw);
    natsSubscription_SetPendingLimits(raw, -1, -1);
    ::setenv("SMITH_NATS_URL", url.c_str(), 1);
    ::setenv("SMITH_LOG_LEVEL", "warn", 1);
    ::setenv("SMITH_NATS_SEND_ASAP", p.send_asap, 1);
    worker_ = smith::testing::child_process::spawn(
      {a.smith, "worker", "--role", "bench", "--concurrency", std::to_string(p.concurrency),
       "--http-port", std::to_string(smith::testing::free_port()), "--http-host", "127.0.0.1"},
      dir_.path() / "worker.log");
    // Ready when its pull requests wait at the server.
    if (!wait_for(
          [&] {
            auto ci = tp::consumer_info(*conn_, "SMITH_TASKS", "role-bench");
            return ci && ci->num_waiting > 0;
          },
          30s))
      die("the worker did not start pulling; its log is in "
          + (dir_.path() / "worker.log").string());
    idle_rss_kib = rss_kib(worker_.pid());
  }

  ~worker_run() {
    worker_.terminate(30s);
  }

  double round(int r) {
    std::string payload(256, 'p');
    tp::wire::task t;
    t.type = "echo";
    t.payload = payload;
    t.created_ms = 1;
    count_.results = 0;
    ++round_;
    auto start = clock_type::now();
    for (int i = 0; i < a_.tasks; ++i) {
      t.id = "w" + std::to_string(round_) + "-" + std::to_string(r) + "-" + std::to_string(i);
      must(pub_->publish_async(must(tp::task_message(names_, "bench", t))));
    }
    must(pub_->wait_complete(120s));
    if (!wait_for([&] { return count_.results.load() >= a_.tasks; }, 300s))
      die("only " + std::to_string(count_.results.load()) + " of " + std::to_string(a_.tasks)
          + " results arrived");
    return a_.tasks / seconds_since(start);
  }

  long idle_rss_kib = -1;

private:
  static inline int round_ = 0; // ids stay unique across workers (the dedup window)
  const args& a_;
  smith::testing::temp_dir dir_{"smith-worker-bench-"};
  std::shared_ptr<tp::connection> conn_;
  std::unique_ptr<tp::publisher> pub_;
  tp::wire::subjects names_{"smith"};
  counter count_;
  tp::subscription_handle sub_;
  smith::testing::child_process worker_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        die("missing value after " + k);
      return argv[++i];
    };
    if (k == "--tasks")
      a.tasks = std::stoi(next());
    else if (k == "--rounds")
      a.rounds = std::stoi(next());
    else if (k == "--concurrency")
      a.concurrency = std::stoi(next());
    else if (k == "--smith")
      a.smith = next();
    else
      die("usage: worker_bench --smith PATH [--tasks N] [--rounds R] [--concurrency C]");
  }
  if (a.smith.empty() || a.tasks < 1 || a.rounds < 1 || a.concurrency < 1)
    die("usage: worker_bench --smith PATH [--tasks N] [--rounds R] [--concurrency C]");
  return a;
}

} // namespace

int main(int argc, char** argv) {
  auto a = parse(argc, argv);
  tp::library lib;
  smith::testing::nats_server server;
  // The default settings, and the same worker tuned for tiny tasks: a deeper pipeline, and
  // nats.c's flusher coalescing writes instead of one write per message (adds ~1 ms latency).
  const profile profiles[] = {{"default", a.concurrency, "1"},
                              {"tuned (SEND_ASAP=0)", std::max(a.concurrency, 256), "0"}};
  std::printf("worker bench: %d echo tasks x %d rounds, 256 B payload\n", a.tasks, a.rounds);
  int raw_round = 0; // the raw loop's ids must differ in every call (the dedup window)
  for (const auto& p : profiles) {
    worker_run w{a, p, server.url()};
    std::vector<double> raw;
    std::vector<double> ours;
    for (int r = 0; r < a.rounds; ++r) {
      raw.push_back(smith::bench::run_raw_pipeline(server.url(), a.tasks, 256, raw_round++));
      ours.push_back(w.round(r));
      std::printf("  %s, round %d: raw nats.c pipeline %.0f tasks/s, smith worker %.0f tasks/s\n",
                  p.name, r + 1, raw.back(), ours.back());
      std::fflush(stdout);
    }
    double rm = median(raw);
    double om = median(ours);
    std::printf("%-22s concurrency %4d: raw %8.0f tasks/s, worker %8.0f tasks/s, ratio %.2f, "
                "idle RSS %ld KiB\n",
                p.name, p.concurrency, rm, om, om / rm, w.idle_rss_kib);
  }
  return 0;
}
