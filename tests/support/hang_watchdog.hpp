// Turns a hung integration test into a quick failure that says where it hung: past a time limit
// per test case, it prints the stacks of every thread of the test and of its child processes,
// and ends the run.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace smith::testing {

/// The limit per test case: SMITH_TEST_CASE_LIMIT (whole seconds, at least 1) or 120 s: ten
/// times the longest case of the suite at the time of writing. A
/// malformed value throws std::invalid_argument, so a typo does not turn the watchdog off.
std::chrono::seconds test_case_limit();

/// Watches the test case that runs now. When one has run longer than `limit` it writes to
/// stderr, in this order:
/// - the test case's name and how long it ran;
/// - every thread's stack of this process (`gdb -batch`, when gdb is installed);
/// - for each child process: a nats-server is sent SIGQUIT, which makes it write the stacks of
///   all its goroutines to its log (GOTRACEBACK=all, set here for children) and exit, and the
///   part of the log it wrote is copied; any other child's threads are printed with gdb.
/// Then the process exits with status 1. A hang in a nats.c thread join, a lost reply or a
/// stuck server thus shows its cause in the test log within `limit`, instead of a bare
/// timeout from the test runner after many minutes.
class hang_watchdog {
public:
  // -- constructors, destructors, and assignment operators ------------------------------------

  explicit hang_watchdog(std::chrono::seconds limit);
  ~hang_watchdog();
  hang_watchdog(const hang_watchdog&) = delete;
  hang_watchdog& operator=(const hang_watchdog&) = delete;

  // -- the test case that runs ----------------------------------------------------------------

  void started(std::string test_case);
  void ended();

private:
  void run();
  [[noreturn]] void report(const std::string& test_case, std::chrono::seconds ran);

  std::chrono::seconds limit_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string case_;
  std::optional<std::chrono::steady_clock::time_point> since_;
  std::thread thread_; // last: it starts with everything above in place
};

} // namespace smith::testing
