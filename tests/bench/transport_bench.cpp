// Transport benchmark: the raw nats.c loop (async publish N tasks of 256 B, fetch, publish a
// result, ack) against the same loop through smith::transport, in one process on one server.
// Rounds alternate so both see the same machine; the ratio of medians is what we quote.
#include "must.hpp"
#include "raw_pipeline.hpp"
#include "support/nats_server.hpp"
#include "transport/connection.hpp"
#include "transport/library.hpp"
#include "transport/publisher.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/topology.hpp"
#include "transport/wire/envelope.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tp = smith::transport;
using smith::bench::check;
using smith::bench::die;
using smith::bench::median;
using smith::bench::must;
using smith::bench::seconds_since;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct args {
  int tasks = 100'000;
  int rounds = 3;
  int batch = 256;
  std::string url; // empty: start a private nats-server
};

// -- the same loop through smith::transport --------------------------------------------------

double run_ours(const std::string& url, int n, int batch, int round) {
  tp::connection_config cc;
  cc.servers = {url};
  cc.retry_on_failed_connect = false;
  auto conn = must(tp::connection::connect(cc));
  tp::topology_config cfg;
  cfg.prefix = "bench";
  cfg.roles = {"bench"};
  cfg.max_ack_pending = 100'000;
  must(tp::apply(*conn, tp::declare(cfg)));
  tp::wire::subjects names{cfg.prefix};
  jsCtx* js = conn->jetstream();
  check(js_PurgeStream(js, names.results_stream().c_str(), nullptr, nullptr), "purge");
  auto pub = must(tp::publisher::create(conn, {}));
  auto consumer = must(tp::pull_consumer::bind(conn, names.tasks_stream(), "role-bench"));

  std::string payload(256, 'p');
  std::string prefix = "o" + std::to_string(round) + "-";
  auto start = clock_type::now();
  tp::wire::task t;
  t.type = "noop";
  t.payload = payload;
  for (int i = 0; i < n; ++i) {
    t.id = prefix + std::to_string(i);
    must(pub->publish_async(must(tp::task_message(names, "bench", t))));
  }
  must(pub->wait_complete(60s));
  if (std::getenv("BENCH_PHASES"))
    std::printf("  ours publish phase %.0f/s\n", n / seconds_since(start));
  int done = 0;
  tp::wire::result r;
  r.ok = true;
  r.output.assign(64, 'r');
  while (done < n) {
    auto msgs = must(consumer->fetch(static_cast<std::size_t>(batch), 5s));
    for (auto& m : msgs) {
      auto task = must(tp::wire::decode_task(m.data()));
      r.id = std::move(task.id);
      r.attempts = static_cast<std::uint32_t>(m.delivery_count());
      must(pub->publish_async(tp::result_message(names, "bench", r)));
      must(m.ack());
    }
    done += static_cast<int>(msgs.size());
  }
  must(pub->wait_complete(60s));
  return n / seconds_since(start);
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
    else if (k == "--batch")
      a.batch = std::stoi(next());
    else if (k == "--url")
      a.url = next();
    else
      die("usage: transport_bench [--tasks N] [--rounds R] [--batch B] [--url nats://...]");
  }
  if (a.tasks < 1 || a.rounds < 1 || a.batch < 1)
    die("--tasks, --rounds and --batch must be at least 1");
  return a;
}

} // namespace

int main(int argc, char** argv) {
  auto a = parse(argc, argv);
  tp::library lib;
  std::optional<smith::testing::nats_server> server;
  if (a.url.empty()) {
    server.emplace();
    a.url = server->url();
  }
  std::vector<double> raw;
  std::vector<double> ours;
  for (int round = 0; round < a.rounds; ++round) {
    raw.push_back(smith::bench::run_raw_pipeline(a.url, a.tasks, a.batch, round));
    ours.push_back(run_ours(a.url, a.tasks, a.batch, round));
    std::printf("round %d: raw nats.c %.0f tasks/s, smith::transport %.0f tasks/s\n", round + 1,
                raw.back(), ours.back());
  }
  double r = median(raw);
  double o = median(ours);
  std::printf("transport bench: %d tasks x %d rounds, 256 B payload, batch %d\n", a.tasks, a.rounds,
              a.batch);
  std::printf("raw nats.c loop      %10.0f tasks/s (median)\n", r);
  std::printf("smith::transport     %10.0f tasks/s (median)\n", o);
  std::printf("ratio transport/raw  %10.2f\n", o / r);
  return 0;
}
