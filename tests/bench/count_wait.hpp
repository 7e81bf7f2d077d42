// Waiting for results that another thread counts: as long as they keep coming, however slow
// the machine; a stall, not a fixed deadline, means something is lost.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

namespace smith::bench {

/// Polls `count` every millisecond until it reaches `target` (true), or until it has not
/// moved for `stall` (false).
inline bool wait_for_count(const std::atomic<int>& count, int target,
                           std::chrono::milliseconds stall) {
  using clock_type = std::chrono::steady_clock;
  int seen = count.load();
  auto moved = clock_type::now();
  while (seen < target) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
    int now = count.load();
    if (now != seen) {
      seen = now;
      moved = clock_type::now();
    } else if (clock_type::now() - moved > stall) {
      return false;
    }
  }
  return true;
}

} // namespace smith::bench
