// The doctest runner of the integration tests. It holds nats.c open for the run and shuts it
// down at exit (transport::library), so that AddressSanitizer's leak checker sees nats.c's
// global state freed, and so that a run that used TLS ends cleanly (see library.cpp). A
// watchdog ends a test case that hangs, with the stacks of what hung (hang_watchdog.hpp).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "support/hang_watchdog.hpp"
#include "transport/library.hpp"

#include <cstdio>
#include <exception>
#include <memory>

namespace {

std::unique_ptr<smith::testing::hang_watchdog> watchdog;

// Tells the watchdog which test case runs; every other event is of no interest to it.
struct watchdog_listener : doctest::IReporter {
  explicit watchdog_listener(const doctest::ContextOptions&) {
  }
  void report_query(const doctest::QueryData&) override {
  }
  void test_run_start() override {
  }
  void test_run_end(const doctest::TestRunStats&) override {
  }
  void test_case_start(const doctest::TestCaseData& tc) override {
    if (watchdog)
      watchdog->started(tc.m_name);
  }
  void test_case_reenter(const doctest::TestCaseData&) override {
  }
  void test_case_end(const doctest::CurrentTestCaseStats&) override {
    if (watchdog)
      watchdog->ended();
  }
  void test_case_exception(const doctest::TestCaseException&) override {
  }
  void subcase_start(const doctest::SubcaseSignature&) override {
  }
  void subcase_end() override {
  }
  void log_assert(const doctest::AssertData&) override {
  }
  void log_message(const doctest::MessageData&) override {
  }
  void test_case_skipped(const doctest::TestCaseData&) override {
  }
};

} // namespace

DOCTEST_REGISTER_LISTENER("hang_watchdog", 1, watchdog_listener);

int main(int argc, char** argv) {
  try {
    watchdog = std::make_unique<smith::testing::hang_watchdog>(smith::testing::test_case_limit());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  smith::transport::library nats;
  doctest::Context context(argc, argv);
  auto rc = context.run();
  watchdog.reset();
  return rc;
}
