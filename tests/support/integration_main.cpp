// The doctest runner of the integration tests. It holds nats.c open for the run and shuts it
// down at exit (transport::library), so that AddressSanitizer's leak checker sees nats.c's
// global state freed, and so that a run that used TLS ends cleanly (see library.cpp).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "transport/library.hpp"

int main(int argc, char** argv) {
  smith::transport::library nats;
  doctest::Context context(argc, argv);
  return context.run();
}
