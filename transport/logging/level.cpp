#include "transport/logging/level.hpp"

#include <algorithm>
#include <array>

namespace smith::transport::logging {

namespace {

bool same_word(std::string_view given, std::string_view lower) noexcept {
  auto to_lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  return given.size() == lower.size()
         && std::equal(given.begin(), given.end(), lower.begin(),
                       [&](char a, char b) { return to_lower(a) == b; });
}

} // namespace

std::string_view to_string(level l) noexcept {
  static constexpr std::array<std::string_view, 7> names{"TRACE", "DEBUG", "INFO", "WARN",
                                                         "ERROR", "FATAL", "OFF"};
  auto i = static_cast<std::size_t>(l);
  return i < names.size() ? names[i] : "OFF";
}

std::optional<level> parse_level(std::string_view text) noexcept {
  struct name {
    std::string_view text;
    level value;
  };
  static constexpr std::array<name, 10> names{{{"trace", level::trace},
                                               {"debug", level::debug},
                                               {"info", level::info},
                                               {"warn", level::warn},
                                               {"warning", level::warn},
                                               {"error", level::error},
                                               {"err", level::error},
                                               {"fatal", level::fatal},
                                               {"critical", level::fatal},
                                               {"off", level::off}}};
  for (const auto& n : names)
    if (same_word(text, n.text))
      return n.value;
  return std::nullopt;
}

} // namespace smith::transport::logging
