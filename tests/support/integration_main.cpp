// The doctest runner of the integration tests: it also shuts nats.c down at exit, so that
// AddressSanitizer's leak checker sees nats.c's global state freed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <nats/nats.h>

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  int result = context.run();
  // Waits for nats.c's own threads to finish; a no-op if no test opened the library.
  nats_CloseAndWait(5000);
  return result;
}
