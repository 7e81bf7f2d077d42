// The queue-depth signal ECS scales workers on: every interval, per role, pending and in-flight
// counts as Prometheus gauges (/metrics, through `metrics`) and as one CloudWatch Embedded Metric
// Format line on stdout (namespace MisterSmith, dimension Role: QueueDepth, InFlight,
// BacklogPerWorker). The orchestrator emits it, not the workers, so the metric keeps flowing at
// zero workers.
#pragma once

#include "services/orchestrator/metrics.hpp"
#include "services/orchestrator/task_service.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace smith::services::orchestrator {

/// One EMF line for one role's counts (tested: it must parse and carry the `_aws` fields).
std::string emf_line(const std::string& role, std::uint64_t pending, std::int64_t in_flight,
                     int workers, std::int64_t timestamp_ms);

class queue_reporter {
public:
  /// Reports through `service` every `interval` to `out` (stdout in production) and `gauges`.
  queue_reporter(task_service& service, std::chrono::milliseconds interval, std::FILE* out,
                 metrics& gauges);
  ~queue_reporter();

  queue_reporter(const queue_reporter&) = delete;
  queue_reporter& operator=(const queue_reporter&) = delete;

private:
  void run();

  task_service& service_;
  std::chrono::milliseconds interval_;
  std::FILE* out_;
  metrics& gauges_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace smith::services::orchestrator
