// Fuzz target: wire::decode_dead_letter on any bytes, as SMITH_DLQ may hold them (read by /v1/dlq).
// Proves that a body decodes to a dead letter or to an error, never to a crash, leak or UB; and
// that a value that decodes re-encodes to a body that decodes to an equal value, and encodes to the
// same bytes again.
#include "tests/fuzz/wire_round_trip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::wire_round_trip(data, size, [](std::string_view body) {
    return smith::transport::wire::decode_dead_letter(body);
  });
}
