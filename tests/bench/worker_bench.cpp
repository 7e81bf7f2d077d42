// End-to-end benchmark: echo tasks of 256 B through real `smith worker` processes at their
// default settings (publish -> worker -> result in SMITH_RESULTS), against nats.c baselines on
// the same server in the same run: the raw loop (the upper bound), and a careful hand-written
// worker with smith's guarantees on smith's own messages and streams (like_for_like) and on the
// plainest ones (like_for_like_plain: what the wire format costs the server). Each round runs
// them all, so all see the same machine; the ratios of medians are what we quote. The baselines
// publish all their tasks, then work them off; smith is timed that way too (smith_backlog, against
// them) and while its tasks are published (smith, as the peers are). Both again with 2 and 4
// workers on the one role, and the workers' CPU per 1,000 tasks and memory, idle and under load.
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
#include "transport/stream_reader.hpp"
#include "transport/wire/envelope.hpp"
#include "wire_pipeline.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace tp = smith::transport;
using smith::bench::die;
using smith::bench::json_lines;
using smith::bench::median;
using smith::bench::must;
using smith::bench::parse_counts;
using smith::bench::positive;
using smith::bench::seconds_since;
using smith::bench::smith_workers;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr const char* usage =
  "usage: worker_bench --smith PATH [--tasks N] [--rounds R] [--workers 1,2,4] [--json PATH]\n"
  "  --smith PATH     the smith binary; its workers run at their default settings\n"
  "  --tasks N        tasks per round (default 50000)\n"
  "  --rounds R       rounds per measurement; medians are quoted (default 3)\n"
  "  --workers LIST   worker processes on the one role to measure (default 1,2,4); the\n"
  "                   comparison with the baselines always uses one\n"
  "  --json PATH      append one JSON object per measurement to PATH\n"
  "  --handler-process CMD  the workers run their tasks in handler processes of CMD (system\n"
  "                   \"smith_python\" for a Python echo handler), without the nats.c\n"
  "                   baselines; --workers defaults to 1";

struct args {
  int tasks = 50'000;
  int rounds = 3;
  std::vector<int> workers{1, 2, 4};
  std::string smith;
  std::string json;
  std::string handler_process;
  std::string system = "smith";
};

// What one round of smith measured.
struct smith_round {
  double tasks_per_s = 0;
  double cpu_s_per_1k = 0;
};

// The benchmark's side of the smith runs: publishes tasks and counts the results stored in
// SMITH_RESULTS by reading the stream's state every 5 ms. (A subscription to smith.result.>
// cost the server a delivery per result and this process a wake-up, on the machine the worker
// shares; the baselines have no such observer.)
class client {
public:
  explicit client(const std::string& url) {
    tp::connection_config cc;
    cc.servers = {url};
    cc.retry_on_failed_connect = false;
    conn_ = must(tp::connection::connect(cc));
    smith::bench::apply_default_topology(*conn_);
    pub_ = must(tp::publisher::create(conn_, {}));
  }

  const tp::connection& conn() const {
    return *conn_;
  }

  // Publishes `tasks` echo tasks and waits for all their results. With `backlog`, timed as the
  // nats.c baselines are: the role's consumer is paused while every task is published and
  // stored, then resumed, and the time covers both; without, the workers take the tasks while
  // they are published (as the peers are measured).
  smith_round run(const smith_workers& workers, int tasks, bool backlog) {
    tp::wire::task t;
    t.type = "echo";
    t.payload.assign(256, 'p');
    t.created_ms = tp::unix_ms();
    // Ids differ in every run: the server drops a repeated id inside its duplicate window.
    auto prefix = "w" + std::to_string(++runs_) + "-";
    auto stored_before = stored_results();
    if (backlog)
      pause_consumer(true);
    double cpu_before = workers.cpu_seconds();
    auto start = clock_type::now();
    auto publish = [&](int i) {
      t.id = prefix + std::to_string(i);
      must(pub_->publish_async(must(tp::task_message(names_, "bench", t))));
    };
    for (int i = 0; i + 1 < tasks; ++i)
      publish(i);
    if (backlog) {
      // Resuming does not wake the pull requests waiting at the server (it only arms a timer
      // for a future pause deadline); a stored task does. So the last task is published once
      // the consumer is resumed, or the workers would sit out their requests' expiry first.
      must(pub_->wait_complete(120s));
      pause_consumer(false);
    }
    publish(tasks - 1);
    must(pub_->wait_complete(120s));
    if (std::getenv("BENCH_PHASES"))
      std::printf("  phases: published %.3f s\n", seconds_since(start));
    auto stored = smith::bench::poll_count([this] { return stored_results(); },
                                           stored_before + tasks, 30s, 5ms);
    if (stored < stored_before + tasks)
      die("only " + std::to_string(stored - stored_before) + " of " + std::to_string(tasks)
          + " results stored, none for 30 s; see " + workers.log(0).string());
    smith_round r;
    r.tasks_per_s = tasks / seconds_since(start);
    r.cpu_s_per_1k = (workers.cpu_seconds() - cpu_before) * 1000.0 / tasks;
    return r;
  }

private:
  // JetStream's consumer pause (ADR-48): the workers' pull requests wait at the server, and get
  // the tasks once it is resumed.
  void pause_consumer(bool pause) {
    auto api = std::string{"$JS.API.CONSUMER.PAUSE."} + names_.tasks_stream() + "."
               + tp::wire::subjects::consumer("bench");
    const char* body = pause ? R"({"pause_until":"2999-01-01T00:00:00Z"})" : "{}";
    natsMsg* reply = nullptr;
    if (natsConnection_RequestString(&reply, conn_->native(), api.c_str(), body, 5000) != NATS_OK)
      die("no answer to " + api);
    tp::msg_handle hold{reply};
    std::string_view answer{natsMsg_GetData(reply),
                            static_cast<std::size_t>(natsMsg_GetDataLength(reply))};
    if (answer.find(pause ? R"("paused":true)" : R"("paused":false)") == std::string_view::npos)
      die(api + " answered " + std::string{answer});
  }

  std::uint64_t stored_results() const {
    return must(tp::stream_info(*conn_, names_.results_stream())).messages;
  }

  std::shared_ptr<tp::connection> conn_;
  std::unique_ptr<tp::publisher> pub_;
  tp::wire::subjects names_{"smith"};
  int runs_ = 0;
};

// One group of workers: their rounds, and their memory idle and after load.
struct group {
  int workers = 1;
  std::optional<int> concurrency;
  std::vector<double> tasks_per_s;
  long rss_idle_kib = 0;
  long rss_load_kib = 0;
};

// The JSON lines of this program; memory is per group, the largest worker's.
class reporter {
public:
  reporter(const std::string& path, std::string system)
    : system(std::move(system)), out_("worker_bench", path) {
  }

  std::string system;

  void round(const std::string& system, const char* metric, double value, int round, int workers,
             std::optional<int> concurrency) {
    out_.write({system, metric, value, round, workers, concurrency, std::nullopt});
  }

  void memory(const group& g) {
    out_.write({system, "rss_idle_kib", double(g.rss_idle_kib), std::nullopt, g.workers,
                g.concurrency, std::nullopt});
    out_.write({system, "rss_load_kib", double(g.rss_load_kib), std::nullopt, g.workers,
                g.concurrency, std::nullopt});
  }

private:
  json_lines out_;
};

// Runs `rounds` rounds on `count` fresh workers; with `baselines`, each round also runs the
// raw and like-for-like loops first, on the same server.
group measure(const args& a, const std::string& url, client& c, reporter& rep, int count,
              bool baselines) {
  static int baseline_round = 0; // the baselines' ids differ in every call too
  group g;
  g.workers = count;
  std::vector<std::string> extra;
  if (!a.handler_process.empty())
    extra = {"--handler-process", a.handler_process};
  smith_workers w{a.smith, url, count, c.conn(), extra};
  g.concurrency = smith_workers::concurrency(c.conn());
  g.rss_idle_kib = w.max_status_kib("VmRSS");
  std::vector<double> raw;
  std::vector<double> lfl;
  std::vector<double> plain;
  std::vector<double> backlog;
  for (int r = 1; r <= a.rounds; ++r) {
    if (baselines) {
      raw.push_back(smith::bench::run_raw_pipeline(url, a.tasks, 256, baseline_round));
      plain.push_back(smith::bench::run_like_for_like_plain(url, a.tasks, baseline_round));
      lfl.push_back(smith::bench::run_like_for_like(url, c.conn(), a.tasks, baseline_round++));
      rep.round("raw", "tasks_per_s", raw.back(), r, 1, std::nullopt);
      rep.round("like_for_like_plain", "tasks_per_s", plain.back(), r, 1, std::nullopt);
      rep.round("like_for_like", "tasks_per_s", lfl.back(), r, 1, std::nullopt);
    }
    // Timed as the baselines are (tasks published first, then worked off), in every group of
    // nats.c workers: how a backlog drains with more workers on the role.
    if (a.handler_process.empty()) {
      auto b = c.run(w, a.tasks, true);
      backlog.push_back(b.tasks_per_s);
      rep.round(rep.system + "_backlog", "tasks_per_s", b.tasks_per_s, r, count, g.concurrency);
      rep.round(rep.system + "_backlog", "cpu_s_per_1k", b.cpu_s_per_1k, r, count, g.concurrency);
      std::printf("  %d workers, round %d: smith_backlog %8.0f tasks/s, CPU %.3f s per 1k tasks\n",
                  count, r, b.tasks_per_s, b.cpu_s_per_1k);
    }
    auto s = c.run(w, a.tasks, false);
    g.tasks_per_s.push_back(s.tasks_per_s);
    rep.round(rep.system, "tasks_per_s", s.tasks_per_s, r, count, g.concurrency);
    rep.round(rep.system, "cpu_s_per_1k", s.cpu_s_per_1k, r, count, g.concurrency);
    if (baselines)
      std::printf("  round %d: raw %8.0f, like_for_like_plain %8.0f, like_for_like %8.0f, smith "
                  "%8.0f tasks/s, smith CPU %.3f s per 1k tasks\n",
                  r, raw.back(), plain.back(), lfl.back(), s.tasks_per_s, s.cpu_s_per_1k);
    else
      std::printf("  %d workers, round %d: smith %8.0f tasks/s, CPU %.3f s per 1k tasks\n", count,
                  r, s.tasks_per_s, s.cpu_s_per_1k);
    std::fflush(stdout);
  }
  g.rss_load_kib = w.max_status_kib("VmHWM");
  rep.memory(g);
  if (baselines) {
    double rm = median(raw);
    double pm = median(plain);
    double lm = median(lfl);
    double bm = median(backlog);
    double sm = median(g.tasks_per_s);
    std::printf("medians: raw %.0f, like_for_like_plain %.0f, like_for_like %.0f, smith_backlog "
                "%.0f, smith %.0f tasks/s\n",
                rm, pm, lm, bm, sm);
    std::printf("ratio smith_backlog/like_for_like %.2f, smith_backlog/raw %.2f, "
                "smith_backlog/like_for_like_plain %.2f\n",
                bm / lm, bm / rm, bm / pm);
  }
  return g;
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
    if (k == "--tasks")
      a.tasks = positive(k, next(), 100'000'000);
    else if (k == "--rounds")
      a.rounds = positive(k, next(), 100'000'000);
    else if (k == "--workers")
      a.workers = parse_counts(k, next(), 64, "a list of counts from 1 to 64 such as 1,2,4");
    else if (k == "--smith")
      a.smith = next();
    else if (k == "--json")
      a.json = next();
    else if (k == "--handler-process")
      a.handler_process = next();
    else if (k == "--help" || k == "-h") {
      std::puts(usage);
      std::exit(0);
    } else
      die("unknown option " + k + "\n" + usage);
  }
  if (a.smith.empty())
    die(std::string{"--smith is required\n"} + usage);
  if (!a.handler_process.empty()) {
    a.system = "smith_python";
    if (std::find(argv + 1, argv + argc, std::string_view{"--workers"}) == argv + argc)
      a.workers = {1};
  }
  return a;
}

} // namespace

int main(int argc, char** argv) {
  auto a = parse(argc, argv);
  tp::library lib;
  smith::testing::nats_server server;
  client c{server.url()};
  reporter rep{a.json, a.system};
  std::printf("worker bench: %d echo tasks x %d rounds, 256 B payload, %s at default settings%s\n",
              a.tasks, a.rounds, a.system.c_str(),
              a.handler_process.empty() ? "" : (", handlers: " + a.handler_process).c_str());
  auto one = measure(a, server.url(), c, rep, 1, a.handler_process.empty());
  std::vector<group> groups;
  for (int n : a.workers)
    groups.push_back(n == 1 ? one : measure(a, server.url(), c, rep, n, false));
  std::printf("workers  tasks/s (median)  idle RSS KiB  peak RSS KiB (largest worker)\n");
  for (const auto& g : groups)
    std::printf("%7d  %16.0f  %12ld  %12ld\n", g.workers, median(g.tasks_per_s), g.rss_idle_kib,
                g.rss_load_kib);
  return 0;
}
