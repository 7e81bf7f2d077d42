// Waiting for results that are counted elsewhere: as long as they keep coming, however slow
// the machine; a stall, not a fixed deadline, means something is lost.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

namespace smith::bench {

/// Polls `read()` every `every` until it reaches `target`, or until it has not moved for
/// `stall`; returns the last count read (below `target` after a stall).
template <class Read>
auto poll_count(Read read, decltype(read()) target, std::chrono::milliseconds stall,
                std::chrono::milliseconds every) {
  using clock_type = std::chrono::steady_clock;
  auto seen = read();
  auto moved = clock_type::now();
  while (seen < target) {
    std::this_thread::sleep_for(every); // a poll interval, not a synchronisation
    auto now = read();
    if (now != seen) {
      seen = now;
      moved = clock_type::now();
    } else if (clock_type::now() - moved > stall) {
      break;
    }
  }
  return seen;
}

/// Polls `count` every millisecond until it reaches `target` (true), or until it has not
/// moved for `stall` (false).
inline bool wait_for_count(const std::atomic<int>& count, int target,
                           std::chrono::milliseconds stall) {
  return poll_count([&] { return count.load(); }, target, stall, std::chrono::milliseconds{1})
         >= target;
}

} // namespace smith::bench
