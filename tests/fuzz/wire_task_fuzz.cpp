// Fuzz target: wire::decode_task on any bytes, as any NATS client may publish to smith.task.>.
// Proves that a body decodes to a task or to an error, never to a crash, leak or UB; and that a
// value that decodes re-encodes to a body that decodes to an equal value, and encodes to the same
// bytes again.
#include "tests/fuzz/check.hpp"
#include "transport/wire/envelope.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wire = smith::transport::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  auto value = wire::decode_task(body);
  if (!value)
    return 0;
  auto encoded = wire::encode(*value);
  auto again = wire::decode_task(encoded);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *value);
  FUZZ_CHECK(wire::encode(*again) == encoded);
  return 0;
}
