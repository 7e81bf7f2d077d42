#include "transport/wire/trace_context.hpp"

#include <algorithm>

namespace smith::transport::wire {

namespace {

bool lower_hex(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zeros(std::string_view s) noexcept {
  return s.find_first_not_of('0') == std::string_view::npos;
}

std::uint8_t hex_byte(std::string_view two) noexcept {
  auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  return static_cast<std::uint8_t>(digit(two[0]) * 16 + digit(two[1]));
}

} // namespace

std::optional<trace_context> parse_traceparent(std::string_view h) noexcept {
  // 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
  // 0  3                                36               53 55
  constexpr std::size_t size = 55;
  if (h.size() < size || h[2] != '-' || h[35] != '-' || h[52] != '-')
    return std::nullopt;
  trace_context t{h.substr(0, 2), h.substr(3, 32), h.substr(36, 16), 0};
  auto flags = h.substr(53, 2);
  if (!lower_hex(t.version) || !lower_hex(t.trace_id) || !lower_hex(t.parent_id)
      || !lower_hex(flags) || t.version == "ff")
    return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may carry more after a '-'.
  if (h.size() > size && (t.version == "00" || h[size] != '-'))
    return std::nullopt;
  if (all_zeros(t.trace_id) || all_zeros(t.parent_id))
    return std::nullopt;
  t.flags = hex_byte(flags);
  return t;
}

std::optional<std::string_view> trace_id_of(std::string_view traceparent) noexcept {
  if (auto t = parse_traceparent(traceparent))
    return t->trace_id;
  return std::nullopt;
}

} // namespace smith::transport::wire
