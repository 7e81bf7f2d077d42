#include "services/orchestrator/queue_reporter.hpp"

#include "services/orchestrator/api_error.hpp"
#include "transport/clock.hpp"

#include "services/orchestrator/log.hpp"

namespace smith::services::orchestrator {

using json = nlohmann::json;

std::string emf_line(const std::string& role, std::uint64_t pending, std::int64_t in_flight,
                     int workers, std::int64_t timestamp_ms) {
  auto backlog = static_cast<double>(pending) + static_cast<double>(in_flight);
  json doc{
    {"_aws",
     {{"Timestamp", timestamp_ms},
      {"CloudWatchMetrics",
       json::array(
         {{{"Namespace", "MisterSmith"},
           {"Dimensions", json::array({json::array({"Role"})})},
           {"Metrics", json::array({{{"Name", "QueueDepth"}, {"Unit", "Count"}},
                                    {{"Name", "InFlight"}, {"Unit", "Count"}},
                                    {{"Name", "BacklogPerWorker"}, {"Unit", "Count"}}})}}})}}},
    {"Role", role},
    {"QueueDepth", pending},
    {"InFlight", in_flight},
    {"Workers", workers},
    {"BacklogPerWorker", backlog / std::max(workers, 1)}};
  return doc.dump();
}

queue_reporter::queue_reporter(task_service& service, std::chrono::milliseconds interval,
                               std::FILE* out, metrics& gauges)
  : service_(service), interval_(interval), out_(out), gauges_(gauges) {
  thread_ = std::thread{[this] { run(); }};
}

queue_reporter::~queue_reporter() {
  {
    std::lock_guard guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void queue_reporter::run() {
  std::unique_lock lock{mtx_};
  while (!stop_) {
    lock.unlock();
    try {
      auto q = service_.queues();
      auto ts = transport::unix_ms();
      for (const auto& r : q["queues"]) {
        auto role = r["role"].get<std::string>();
        gauges_.set_queue(role, {r["pending"].get<double>(), r["in_flight"].get<double>(),
                                 r["workers"].get<double>(), r["oldest_pending_s"].get<double>()});
        auto line = emf_line(role, r["pending"].get<std::uint64_t>(),
                             r["in_flight"].get<std::int64_t>(), r["workers"].get<int>(), ts);
        line += '\n';
        // One write per line, flushed at once: a metric never waits in a buffer, and lines
        // from the logger (also whole-line writes to stdout) never interleave with it.
        std::fwrite(line.data(), 1, line.size(), out_);
        std::fflush(out_);
      }
    } catch (const api_error& e) {
      SMITH_LOG(log(), warn, "queue depth not reported", {"error", e.what()});
    }
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

} // namespace smith::services::orchestrator
