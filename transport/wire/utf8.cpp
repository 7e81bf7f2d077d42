#include "transport/wire/utf8.hpp"

namespace smith::transport::wire {

namespace {

bool continuation(unsigned char c) noexcept {
  return (c & 0xC0) == 0x80;
}

} // namespace

std::size_t utf8_sequence_length(std::string_view s) noexcept {
  if (s.empty())
    return 0;
  auto at = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto c = at(0);
  if (c < 0x80)
    return 1;
  // RFC 3629, section 4: the second byte's range depends on the first, which rules out
  // overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and > U+10FFFF.
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c == 0xE0)
    len = 3, lo = 0xA0;
  else if (c == 0xED)
    len = 3, hi = 0x9F;
  else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
    len = 3;
  else if (c == 0xF0)
    len = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3)
    len = 4;
  else if (c == 0xF4)
    len = 4, hi = 0x8F;
  else
    return 0;
  if (s.size() < len || at(1) < lo || at(1) > hi)
    return 0;
  for (std::size_t i = 2; i < len; ++i)
    if (!continuation(at(i)))
      return 0;
  return len;
}

bool is_utf8(std::string_view s) noexcept {
  while (!s.empty()) {
    auto n = utf8_sequence_length(s);
    if (n == 0)
      return false;
    s.remove_prefix(n);
  }
  return true;
}

std::string to_utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    auto n = utf8_sequence_length(s);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      n = 1;
    } else {
      out.append(s.data(), n);
    }
    s.remove_prefix(n);
  }
  return out;
}

} // namespace smith::transport::wire
