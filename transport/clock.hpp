// Wall-clock time as the wire format carries it: unix milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace smith::transport {

inline std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace smith::transport
