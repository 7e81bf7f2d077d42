#include "services/orchestrator/task_ids.hpp"

#include "transport/clock.hpp"

#include <cstdio>
#include <random>

namespace smith::services::orchestrator {

namespace tp = smith::transport;

std::string random_hex(std::size_t bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = rng() & 0xff;
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

std::string new_task_id() {
  char ms[17];
  std::snprintf(ms, sizeof(ms), "%012llx", static_cast<unsigned long long>(tp::unix_ms()));
  return std::string{"t-"} + ms + random_hex(8);
}

} // namespace smith::services::orchestrator
