// A process that hangs on purpose, for the test of hang_watchdog (tests/integration/
// fixture_test.cpp): a nats-server of its own, and a test case that never ends.
#include "support/hang_watchdog.hpp"
#include "support/nats_server.hpp"

#include <unistd.h>

#include <cstdio>
#include <exception>

namespace {

// Named, and not inlined, so the test can find it in the stacks the watchdog prints.
[[gnu::noinline]] void block_forever() {
  for (;;)
    pause();
}

} // namespace

int main() {
  try {
    smith::testing::hang_watchdog dog{smith::testing::test_case_limit()};
    smith::testing::nats_server server;
    dog.started("the probe that never ends");
    block_forever();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hang_probe: %s\n", e.what());
    return 2;
  }
}
