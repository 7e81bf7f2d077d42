#include "actors/metrics.hpp"

#include <fmt/format.h>

namespace smith::actors {

void metrics::task_finished(const std::string& type, const std::string& outcome,
                            std::chrono::steady_clock::duration took) {
  double secs = std::chrono::duration<double>(took).count();
  std::lock_guard guard{mtx_};
  ++tasks_[{type, outcome}];
  auto& h = durations_[type];
  for (std::size_t i = 0; i < buckets.size(); ++i)
    if (secs <= buckets[i])
      ++h.counts[i];
  ++h.total;
  h.sum += secs;
}

std::uint64_t metrics::count(const std::string& outcome) const {
  std::lock_guard guard{mtx_};
  std::uint64_t n = 0;
  for (const auto& [key, value] : tasks_)
    if (key.second == outcome)
      n += value;
  return n;
}

std::string metrics::render(const std::string& role, std::uint64_t reconnects) const {
  std::string out;
  std::lock_guard guard{mtx_};
  out += "# HELP smith_tasks_total Task attempts by how they ended.\n"
         "# TYPE smith_tasks_total counter\n";
  for (const auto& [key, value] : tasks_)
    out += fmt::format("smith_tasks_total{{role=\"{}\",type=\"{}\",outcome=\"{}\"}} {}\n", role,
                       key.first, key.second, value);
  out += "# HELP smith_task_duration_seconds Time from start to end of an attempt.\n"
         "# TYPE smith_task_duration_seconds histogram\n";
  for (const auto& [type, h] : durations_) {
    for (std::size_t i = 0; i < buckets.size(); ++i)
      out += fmt::format("smith_task_duration_seconds_bucket{{role=\"{}\",type=\"{}\",le=\"{}\"}} "
                         "{}\n",
                         role, type, buckets[i], h.counts[i]);
    out +=
      fmt::format("smith_task_duration_seconds_bucket{{role=\"{}\",type=\"{}\",le=\"+Inf\"}} {}\n",
                  role, type, h.total);
    out += fmt::format("smith_task_duration_seconds_sum{{role=\"{}\",type=\"{}\"}} {}\n", role,
                       type, h.sum);
    out += fmt::format("smith_task_duration_seconds_count{{role=\"{}\",type=\"{}\"}} {}\n", role,
                       type, h.total);
  }
  out += fmt::format("# HELP smith_tasks_in_flight Tasks running now.\n"
                     "# TYPE smith_tasks_in_flight gauge\n"
                     "smith_tasks_in_flight{{role=\"{}\"}} {}\n",
                     role, in_flight_.load());
  out += fmt::format("# HELP smith_actor_restarts_total Actors restarted by a supervisor.\n"
                     "# TYPE smith_actor_restarts_total counter\n"
                     "smith_actor_restarts_total{{role=\"{}\"}} {}\n",
                     role, restarts_.load());
  out += fmt::format("# HELP smith_nats_reconnects_total Times the NATS connection came back.\n"
                     "# TYPE smith_nats_reconnects_total counter\n"
                     "smith_nats_reconnects_total{{role=\"{}\"}} {}\n",
                     role, reconnects);
  return out;
}

} // namespace smith::actors
