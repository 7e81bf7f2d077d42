// Fuzz target: the body of an answer to <prefix>.ping.workers as /v1/queues reads it. Anyone on
// NATS may answer the ping: proves that any bytes count for a role or for none, never a crash,
// an exception, a leak or UB.
#include "services/orchestrator/ping_reply.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  (void)smith::services::orchestrator::ping_reply_role(body);
  return 0;
}
