// Counters a worker process exposes on /metrics (Prometheus text format). Updated from actors
// and nats.c threads, read by the HTTP thread: every member is thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace smith::actors {

class metrics {
public:
  /// Seconds: the histogram's upper bounds.
  static constexpr std::array<double, 12> buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                  0.5,   1,    2.5,   5,    10,  60};

  /// A task attempt ended: outcome is succeeded, retried, failed, dead or cancelled.
  void task_finished(const std::string& type, const std::string& outcome,
                     std::chrono::steady_clock::duration took);

  void restarted() noexcept {
    restarts_.fetch_add(1, std::memory_order_relaxed);
  }

  void set_in_flight(std::int64_t n) noexcept {
    in_flight_.store(n, std::memory_order_relaxed);
  }

  std::int64_t in_flight() const noexcept {
    return in_flight_.load(std::memory_order_relaxed);
  }

  /// Tasks that ended with `outcome`, all types.
  std::uint64_t count(const std::string& outcome) const;

  /// Prometheus text exposition; `reconnects` comes from the connection.
  std::string render(const std::string& role, std::uint64_t reconnects) const;

private:
  struct histogram {
    std::array<std::uint64_t, buckets.size()> counts{};
    std::uint64_t total = 0;
    double sum = 0;
  };

  mutable std::mutex mtx_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> tasks_;
  std::map<std::string, histogram> durations_;
  std::atomic<std::uint64_t> restarts_{0};
  std::atomic<std::int64_t> in_flight_{0};
};

} // namespace smith::actors
