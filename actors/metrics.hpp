// What a worker process exposes on /metrics, kept in a prometheus-cpp registry: the library
// escapes label values and writes the text format. Updated from actors and nats.c threads, read
// by the HTTP thread: every member is thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace smith::actors {

class metrics {
public:
  // -- constants --------------------------------------------------------------------------------

  /// Seconds: the histogram's upper bounds.
  static constexpr std::array<double, 12> buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                  0.5,   1,    2.5,   5,    10,  60};

  /// Task types counted by name unless SMITH_METRICS_MAX_TYPES says otherwise.
  static constexpr std::size_t default_max_types = 100;

  /// The `type` label of every task type past the first `max_types`.
  static constexpr std::string_view other_type = "other";

  // -- constructors -----------------------------------------------------------------------------

  /// Every series carries `role`. At most `max_types` task types get a `type` label of their
  /// own (a task type is a client's string: unbounded, it would grow the scrape without end).
  explicit metrics(const std::string& role, std::size_t max_types = default_max_types);

  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  // -- updates ----------------------------------------------------------------------------------

  /// A task attempt ended: outcome is succeeded, retried, failed, dead or cancelled.
  void task_finished(const std::string& type, const std::string& outcome,
                     std::chrono::steady_clock::duration took);

  void restarted() {
    restarts_.Increment();
  }

  void set_in_flight(std::int64_t n) {
    in_flight_.Set(static_cast<double>(n));
  }

  // -- reads ------------------------------------------------------------------------------------

  std::int64_t in_flight() const {
    return static_cast<std::int64_t>(in_flight_.Value());
  }

  /// Tasks that ended with `outcome`, all types.
  std::uint64_t count(const std::string& outcome) const;

  /// Prometheus text exposition; `reconnects` is the connection's total so far.
  std::string render(std::uint64_t reconnects);

private:
  /// The series of one `type` label.
  struct by_type {
    prometheus::Histogram* duration = nullptr;
    std::map<std::string, prometheus::Counter*, std::less<>> tasks; ///< by outcome
  };

  /// The label `type` counts under (its own, or other_type past the cap) and its series.
  /// Needs mtx_.
  std::pair<const std::string, by_type>& series_of(const std::string& type);

  prometheus::Registry registry_;
  prometheus::Family<prometheus::Counter>& tasks_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Gauge& in_flight_;
  prometheus::Counter& restarts_;
  prometheus::Counter& reconnects_;
  const std::size_t max_types_;

  mutable std::mutex mtx_; // guards what follows, and the catching up of reconnects_
  std::unordered_map<std::string, by_type> types_;
  std::size_t named_ = 0; // entries of types_ made for a type of their own
};

} // namespace smith::actors
