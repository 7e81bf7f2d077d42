// Open-loop latency: tasks are offered at a fixed rate whatever the worker does, and each
// latency runs from the moment its task was due, not when it went out, so a stall (of the
// worker or of the sender) counts for every task that waited behind it (no coordinated
// omission). Drives its own `smith worker` at default settings, or any worker on an existing
// server that answers task subject P.<id> on R.<id> (how a peer worker in Python is measured).
#include "count_wait.hpp"
#include "json_lines.hpp"
#include "must.hpp"
#include "raw_pipeline.hpp"
#include "smith_workers.hpp"
#include "support/nats_server.hpp"
#include "transport/clock.hpp"
#include "transport/connection.hpp"
#include "transport/handle.hpp"
#include "transport/library.hpp"
#include "transport/publisher.hpp"
#include "transport/wire/envelope.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tp = smith::transport;
using smith::bench::die;
using smith::bench::must;
using smith::bench::parse_counts;
using smith::bench::positive;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr const char* usage =
  "usage: latency_bench --smith PATH [options]\n"
  "       latency_bench --url URL --task-prefix P --result-prefix R [options]\n"
  "  --smith PATH          start a nats-server and a `smith worker --role bench` at defaults\n"
  "  --url URL             use an existing server and the worker that serves it: task <id> is\n"
  "  --task-prefix P         published to P.<id> (256 B body, Nats-Msg-Id <id>), its result is\n"
  "  --result-prefix R       expected on R.<id>\n"
  "  --rates LIST          tasks/s to offer, one run each (default 1000,10000)\n"
  "  --seconds S           measured seconds per rate, after 1 s of warm-up (default 5)\n"
  "  --workers N           smith workers to start; with --url, only recorded (default 1)\n"
  "  --system NAME         the \"system\" of the JSON records (default smith)\n"
  "  --json PATH           append one JSON object per measurement to PATH\n"
  "  --handler-process CMD the workers run their tasks in handler processes of CMD\n"
  "  --floor               with --smith: at each rate, first measure the latency floor, a plain\n"
  "                          nats.c worker in this process (raw_pipeline.hpp: latency_floor), on\n"
  "                          the same server, recorded as system latency_floor";

struct args {
  std::string smith;
  std::string url;
  std::string task_prefix;
  std::string result_prefix;
  std::vector<int> rates{1000, 10000};
  int seconds = 5;
  int workers = 1;
  std::string system = "smith";
  std::string json;
  std::string handler_process;
  bool floor = false;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
    .count();
}

// The results of one rate, by task index. Runs stay alive to the end: a late duplicate of an
// earlier run's result may still reach the subscription's thread.
struct run {
  std::string id_prefix;                             // task ids are <id_prefix><index>
  std::vector<std::atomic<std::int64_t>> arrived_ns; // 0: not yet
  std::atomic<int> count{0};

  run(std::string prefix, int n) : id_prefix(std::move(prefix)), arrived_ns(n) {
  }
};

// Matches results to tasks by the id in their subject, on the subscription's own thread.
class result_listener {
public:
  result_listener(const tp::connection& conn, const std::string& result_prefix)
    : strip_(result_prefix + ".") {
    natsSubscription* raw = nullptr;
    auto subject = result_prefix + ".>";
    if (natsConnection_Subscribe(&raw, conn.native(), subject.c_str(), &on_msg, this) != NATS_OK)
      die("cannot subscribe to " + subject);
    sub_.reset(raw);
    natsSubscription_SetPendingLimits(raw, -1, -1);
  }

  void watch(run* r) {
    current_.store(r);
  }

private:
  static void on_msg(natsConnection*, natsSubscription*, natsMsg* m, void* self) {
    auto arrived = now_ns();
    tp::msg_handle hold{m};
    auto* me = static_cast<result_listener*>(self);
    std::string_view id{natsMsg_GetSubject(m)};
    run* r = me->current_.load();
    if (r == nullptr || !id.starts_with(me->strip_))
      return;
    id.remove_prefix(me->strip_.size());
    if (!id.starts_with(r->id_prefix))
      return;
    id.remove_prefix(r->id_prefix.size());
    std::size_t index = 0;
    for (char ch : id) {
      if (ch < '0' || ch > '9')
        return;
      index = index * 10 + static_cast<std::size_t>(ch - '0');
    }
    std::int64_t none = 0;
    if (index < r->arrived_ns.size() && r->arrived_ns[index].compare_exchange_strong(none, arrived))
      r->count.fetch_add(1, std::memory_order_relaxed);
  }

  std::string strip_;
  std::atomic<run*> current_{nullptr};
  tp::subscription_handle sub_;
};

// The latency at rank q (0..1) of a sorted sample: the nearest rank, no interpolation.
double percentile(const std::vector<double>& sorted, double q) {
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        die("missing value after " + k + "\n" + usage);
      return argv[++i];
    };
    if (k == "--smith")
      a.smith = next();
    else if (k == "--url")
      a.url = next();
    else if (k == "--task-prefix")
      a.task_prefix = next();
    else if (k == "--result-prefix")
      a.result_prefix = next();
    else if (k == "--rates")
      a.rates =
        parse_counts(k, next(), 1'000'000, "a list of positive integers such as 1000,10000");
    else if (k == "--seconds")
      a.seconds = positive(k, next(), 1'000'000);
    else if (k == "--workers")
      a.workers = positive(k, next(), 1'000'000);
    else if (k == "--system")
      a.system = next();
    else if (k == "--handler-process")
      a.handler_process = next();
    else if (k == "--json")
      a.json = next();
    else if (k == "--floor")
      a.floor = true;
    else if (k == "--help" || k == "-h") {
      std::puts(usage);
      std::exit(0);
    } else
      die("unknown option " + k + "\n" + usage);
  }
  if (a.smith.empty() == a.url.empty())
    die(std::string{"give either --smith or --url\n"} + usage);
  if (a.floor && a.smith.empty())
    die(std::string{"--floor needs --smith\n"} + usage);
  if (!a.url.empty() && (a.task_prefix.empty() || a.result_prefix.empty()))
    die(std::string{"--url needs --task-prefix and --result-prefix\n"} + usage);
  return a;
}

// One system measured: where its tasks go and where its results come from.
struct target {
  std::string system;
  std::string task_prefix;
  std::string result_prefix;
  bool smith_wire = false; // tasks as smith's envelopes (docs/WIRE.md), else bare 256 B bodies
  int workers = 1;
  std::optional<int> concurrency;
  std::unique_ptr<result_listener> listener;
};

} // namespace

int main(int argc, char** argv) {
  auto a = parse(argc, argv);
  tp::library lib;
  std::optional<smith::testing::nats_server> server;
  if (!a.smith.empty()) {
    server.emplace();
    a.url = server->url();
    a.task_prefix = "smith.task.bench.echo";
    a.result_prefix = "smith.result.bench";
  }
  tp::connection_config cc;
  cc.servers = {a.url};
  cc.retry_on_failed_connect = false;
  auto conn = must(tp::connection::connect(cc));
  std::optional<smith::bench::latency_floor> floor;
  std::optional<smith::bench::smith_workers> workers;
  std::vector<target> targets;
  if (a.floor) {
    floor.emplace(a.url);
    targets.push_back({"latency_floor", smith::bench::latency_floor::task_prefix,
                       smith::bench::latency_floor::result_prefix});
  }
  targets.push_back({a.system, a.task_prefix, a.result_prefix, server.has_value(), a.workers});
  if (server) {
    smith::bench::apply_default_topology(*conn);
    std::vector<std::string> extra;
    if (!a.handler_process.empty())
      extra = {"--handler-process", a.handler_process};
    workers.emplace(a.smith, a.url, a.workers, *conn, extra);
    targets.back().concurrency = smith::bench::smith_workers::concurrency(*conn);
  }
  std::mutex err_mtx;
  std::string first_error;
  std::atomic<int> failed{0};
  auto pub = must(tp::publisher::create(conn, {}, [&](auto, auto id, const auto& res) {
    if (res)
      return;
    std::lock_guard guard{err_mtx};
    if (failed.fetch_add(1) == 0)
      first_error = std::string{id} + ": " + res.error().to_string();
  }));
  std::vector<std::unique_ptr<run>> runs; // outlives the listeners that write into them
  for (auto& t : targets)
    t.listener = std::make_unique<result_listener>(*conn, t.result_prefix);
  must(conn->flush(5s)); // the server knows our interest before the first result

  smith::bench::json_lines out{"latency_bench", a.json};
  tp::wire::subjects names{"smith"};
  std::string payload(256, 'p');
  // Ids unique to this invocation too: an existing server keeps its duplicate window across runs.
  auto id_base = "lat" + std::to_string(tp::unix_ms()) + "-";
  for (const auto& t : targets)
    std::printf("latency bench (open loop): %s, tasks on %s.<id>, results on %s.<id>\n",
                t.system.c_str(), t.task_prefix.c_str(), t.result_prefix.c_str());
  for (int rate : a.rates) {
    for (auto& tg : targets) {
      int warm = rate; // one second, sent and awaited but not counted
      int total = rate * (a.seconds + 1);
      auto prefix = id_base + std::to_string(runs.size()) + "-";
      runs.push_back(std::make_unique<run>(prefix, total));
      auto& r = *runs.back();
      tg.listener->watch(&r);
      std::int64_t start = now_ns() + 10'000'000; // the sender thread is up by then
      auto due = [&](int i) { return start + std::int64_t{i} * 1'000'000'000 / rate; };
      std::int64_t max_lag = 0;
      std::thread sender{[&] {
        tp::wire::task t;
        t.type = "echo";
        t.payload = payload;
        for (int i = 0; i < total; ++i) {
          auto wait = due(i) - now_ns();
          if (wait > 0)
            std::this_thread::sleep_for(std::chrono::nanoseconds{wait});
          else if (i >= warm)
            max_lag = std::max(max_lag, -wait); // late: send at once, never skip
          auto id = prefix + std::to_string(i);
          if (tg.smith_wire) {
            t.id = id;
            t.created_ms = tp::unix_ms();
            must(pub->publish_async(must(tp::task_message(names, "bench", t))));
          } else {
            must(pub->publish_async({tg.task_prefix + "." + id, payload, id, {}}));
          }
        }
      }};
      sender.join();
      must(pub->wait_complete(60s));
      if (failed > 0)
        die(std::to_string(failed.load()) + " task publishes failed; the first: " + first_error);
      if (floor)
        floor->check_healthy();
      if (!smith::bench::wait_for_count(r.count, total, 10s)) {
        auto missing = total - r.count.load();
        die(tg.system + " at rate " + std::to_string(rate) + "/s: " + std::to_string(missing)
            + " of " + std::to_string(total) + " results missing (none arrived for 10 s) on "
            + tg.result_prefix + ".<id>"
            + (workers && tg.smith_wire ? "; see " + workers->log(0).string() : std::string{}));
      }
      tg.listener->watch(nullptr);
      std::vector<double> ms;
      ms.reserve(static_cast<std::size_t>(total - warm));
      for (int i = warm; i < total; ++i)
        ms.push_back(static_cast<double>(r.arrived_ns[i].load() - due(i)) / 1e6);
      std::sort(ms.begin(), ms.end());
      const std::pair<const char*, double> stats[] = {
        {"p50_ms", percentile(ms, 0.50)},
        {"p90_ms", percentile(ms, 0.90)},
        {"p99_ms", percentile(ms, 0.99)},
        {"p999_ms", percentile(ms, 0.999)},
        {"max_ms", ms.back()},
      };
      std::printf("%-13s rate %6d/s for %d s: %zu results, latency ms p50 %.2f, p90 %.2f, "
                  "p99 %.2f, p99.9 %.2f, max %.2f (sender at most %.2f ms late)\n",
                  tg.system.c_str(), rate, a.seconds, ms.size(), stats[0].second, stats[1].second,
                  stats[2].second, stats[3].second, stats[4].second,
                  static_cast<double>(max_lag) / 1e6);
      std::fflush(stdout);
      for (const auto& [metric, value] : stats)
        out.write({tg.system, metric, value, std::nullopt, tg.workers, tg.concurrency, rate});
    }
  }
  return 0;
}
