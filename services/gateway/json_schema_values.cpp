#include "services/gateway/json_schema_node.hpp"

#include <algorithm>
#include <cmath>

namespace smith::services::gateway {

using json = nlohmann::json;

namespace schema_detail {

// A JSON pointer token (RFC 6901): '~' and '/' escaped.
std::string pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

// A value for a message: compact JSON, at most 64 bytes of it.
std::string shown(const json& v) {
  auto text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 64)
    text = text.substr(0, 61) + "...";
  return text;
}

// Exact order of two JSON numbers (-1, 0, 1) of any representation. long double holds every
// 64-bit integer exactly on the machines we build for, so mixed comparisons are exact too.
int compare_numbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    auto wide = [](const json& v) -> __int128 {
      if (v.is_number_unsigned())
        return static_cast<__int128>(v.get<std::uint64_t>());
      return static_cast<__int128>(v.get<std::int64_t>());
    };
    auto x = wide(a);
    auto y = wide(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  auto as_long_double = [](const json& v) -> long double {
    if (v.is_number_unsigned())
      return static_cast<long double>(v.get<std::uint64_t>());
    if (v.is_number_integer())
      return static_cast<long double>(v.get<std::int64_t>());
    return static_cast<long double>(v.get<double>());
  };
  auto x = as_long_double(a);
  auto y = as_long_double(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool is_integral(const json& v) {
  if (v.is_number_integer())
    return true;
  if (!v.is_number_float())
    return false;
  auto d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

std::uint8_t type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return t_null;
    case json::value_t::boolean:
      return t_boolean;
    case json::value_t::object:
      return t_object;
    case json::value_t::array:
      return t_array;
    case json::value_t::string:
      return t_string;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return is_integral(v) ? static_cast<std::uint8_t>(t_number | t_integer)
                            : static_cast<std::uint8_t>(t_number);
    default:
      return 0;
  }
}

std::string type_list(std::uint8_t mask) {
  std::string out;
  for (const auto& [name, bit] : type_names)
    if ((mask & bit) != 0)
      out += (out.empty() ? "" : " or ") + std::string{name};
  return out;
}

// Code points, as JSON Schema counts string length: every byte that does not continue a
// sequence starts one (the JSON parser has checked the UTF-8).
std::size_t code_points(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
    s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

} // namespace schema_detail

using namespace schema_detail;

bool json_equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number())
    return compare_numbers(a, b) == 0;
  if (a.type() != b.type())
    return false;
  if (a.is_array()) {
    if (a.size() != b.size())
      return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!json_equal(a[i], b[i]))
        return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size())
      return false;
    for (const auto& [key, value] : a.items()) {
      auto it = b.find(key);
      if (it == b.end() || !json_equal(value, *it))
        return false;
    }
    return true;
  }
  return a == b;
}

} // namespace smith::services::gateway
