// What `smith orchestrator` exposes on /metrics, kept in a prometheus-cpp registry: per role the
// queue gauges of the last report (set by the queue reporter's thread), and the totals of dead
// letters moved and NATS reconnects (kept by their owners, read at each scrape by HTTP threads).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <mutex>
#include <string>

namespace smith::services::orchestrator {

/// One role's counts in a report.
struct queue_depth {
  double pending = 0;
  double in_flight = 0;
  double workers = 0;
  double oldest_pending_s = 0;
};

class metrics {
public:
  metrics();

  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// The gauges of `role` show `q` from now on.
  void set_queue(const std::string& role, const queue_depth& q);

  /// Prometheus text exposition, with the totals the dead-letter mover and the connection keep.
  std::string render(std::uint64_t dead_letters_moved, std::uint64_t reconnects);

private:
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Gauge>& pending_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Gauge>& workers_;
  prometheus::Family<prometheus::Gauge>& oldest_pending_;
  prometheus::Counter& moved_;
  prometheus::Counter& reconnects_;
  std::mutex mtx_; // two scrapes at once catch the counters up once
};

} // namespace smith::services::orchestrator
