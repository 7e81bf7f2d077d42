#include "transport/clock.hpp"

#include "transport/logging/encoder.hpp"

#include <ctime>

namespace smith::transport {

std::string rfc3339_ms(std::int64_t unix_ms) {
  std::string out;
  logging::append_utc_ms(out, unix_ms);
  return out;
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text) {
  // 2026-11-29T07:31:28Z or 2026-11-29T07:31:28.387Z: 19 characters, a fraction, then Z.
  if (text.size() < 20 || text.back() != 'Z')
    return std::nullopt;
  std::string whole{text.substr(0, 19)};
  std::tm tmv{};
  const char* end = strptime(whole.c_str(), "%Y-%m-%dT%H:%M:%S", &tmv);
  if (end == nullptr || *end != '\0')
    return std::nullopt;
  auto ms = static_cast<std::int64_t>(timegm(&tmv)) * 1000;
  auto frac = text.substr(19, text.size() - 20);
  if (frac.empty())
    return ms;
  if (frac.size() < 2 || frac[0] != '.')
    return std::nullopt;
  std::int64_t scale = 100;
  for (char c : frac.substr(1)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    ms += (c - '0') * scale;
    scale /= 10;
  }
  return ms;
}

} // namespace smith::transport
