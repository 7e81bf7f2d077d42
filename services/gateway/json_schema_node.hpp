// Inside json_schema: the compiled node and the value helpers its compiler and checker share.
#pragma once

#include "services/gateway/json_schema.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smith::services::gateway {

namespace schema_detail {

enum type_bit : std::uint8_t {
  t_null = 1,
  t_boolean = 2,
  t_object = 4,
  t_array = 8,
  t_number = 16,
  t_string = 32,
  t_integer = 64,
};

constexpr std::array<std::pair<std::string_view, std::uint8_t>, 7> type_names{{
  {"null", t_null},
  {"boolean", t_boolean},
  {"object", t_object},
  {"array", t_array},
  {"number", t_number},
  {"string", t_string},
  {"integer", t_integer},
}};

/// A JSON pointer token (RFC 6901): '~' and '/' escaped.
std::string pointer_token(std::string_view key);

/// A value for a message: compact JSON, at most 64 bytes of it.
std::string shown(const nlohmann::json& v);

/// Exact order of two JSON numbers (-1, 0, 1) of any representation.
int compare_numbers(const nlohmann::json& a, const nlohmann::json& b);

/// An integer, or a finite float with no fraction (JSON Schema's "integer").
bool is_integral(const nlohmann::json& v);

/// The type bits `v` has (a whole number is both number and integer).
std::uint8_t type_of(const nlohmann::json& v);

/// "string or null" for a mask.
std::string type_list(std::uint8_t mask);

/// The length of a string as JSON Schema counts it: code points.
std::size_t code_points(const std::string& s);

} // namespace schema_detail

struct json_schema::node {
  std::optional<bool> boolean; // a boolean schema: true admits all, false nothing
  std::uint8_t types = 0;      // 0: any type
  std::map<std::string, std::unique_ptr<node>, std::less<>> properties;
  std::vector<std::string> required;
  std::unique_ptr<node> additional; // null: any additional property
  std::optional<std::vector<nlohmann::json>> enumeration;
  std::optional<nlohmann::json> constant;
  std::optional<nlohmann::json> minimum;
  std::optional<nlohmann::json> maximum;
  std::optional<std::size_t> min_length;
  std::optional<std::size_t> max_length;
  std::unique_ptr<node> items;
  std::optional<std::size_t> min_items;
  std::optional<std::size_t> max_items;
};

} // namespace smith::services::gateway
