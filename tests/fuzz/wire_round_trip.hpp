// The property the wire targets share: any bytes decode to a value or to an error, and a value
// that decodes re-encodes to a body that decodes to an equal value and encodes to the same bytes.
#pragma once

#include "tests/fuzz/check.hpp"
#include "transport/wire/envelope.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fuzz {

/// `decode` is one of wire::decode_task, decode_result, decode_dead_letter.
template <class Decode>
int wire_round_trip(const std::uint8_t* data, std::size_t size, Decode decode) {
  namespace wire = smith::transport::wire;
  std::string_view body{reinterpret_cast<const char*>(data), size};
  auto value = decode(body);
  if (!value)
    return 0;
  auto encoded = wire::encode(*value);
  auto again = decode(encoded);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *value);
  FUZZ_CHECK(wire::encode(*again) == encoded);
  return 0;
}

} // namespace fuzz
