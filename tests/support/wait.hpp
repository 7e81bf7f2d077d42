// Waiting on a condition with a deadline: the only way tests synchronise with servers and
// threads, so a slow machine makes a test slower instead of flaky.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace smith::testing {

/// Calls `pred` every `poll` until it returns true (returns true) or `deadline` has passed
/// (returns false). `pred` is called once more at the deadline, so a condition that becomes
/// true during the last poll interval is not missed.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds deadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds{20}) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (pred())
      return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= until)
      return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(poll, until - now));
  }
}

} // namespace smith::testing
