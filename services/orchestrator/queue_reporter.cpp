#include "services/orchestrator/queue_reporter.hpp"

#include "services/orchestrator/api_error.hpp"
#include "transport/clock.hpp"

#include <spdlog/spdlog.h>

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
                               std::FILE* out)
  : service_(service), interval_(interval), out_(out) {
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
        auto line = emf_line(r["role"].get<std::string>(), r["pending"].get<std::uint64_t>(),
                             r["in_flight"].get<std::int64_t>(), r["workers"].get<int>(), ts);
        line += '\n';
        // One write per line, flushed at once: a metric never waits in a buffer, and lines
        // from the logger (also whole-line writes to stdout) never interleave with it.
        std::fwrite(line.data(), 1, line.size(), out_);
        std::fflush(out_);
      }
      std::lock_guard guard{mtx_};
      last_ = std::move(q);
    } catch (const api_error& e) {
      spdlog::warn(R"({{"msg":"queue depth not reported","error":"{}"}})", e.what());
    }
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

std::string queue_reporter::render() const {
  std::lock_guard guard{mtx_};
  std::string out;
  if (!last_.is_object())
    return out;
  auto gauge = [&](const char* name, const char* help, const char* key) {
    out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name + " gauge\n";
    for (const auto& r : last_["queues"])
      out += std::string{name} + "{role=\"" + r["role"].get<std::string>() + "\"} " + r[key].dump()
             + "\n";
  };
  gauge("smith_queue_pending", "Tasks waiting for a worker", "pending");
  gauge("smith_queue_in_flight", "Tasks delivered and not yet acknowledged", "in_flight");
  gauge("smith_queue_workers", "Worker processes that answered the last ping", "workers");
  gauge("smith_queue_oldest_pending_seconds", "Age of the oldest waiting task", "oldest_pending_s");
  return out;
}

} // namespace smith::services::orchestrator
