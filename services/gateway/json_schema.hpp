// The subset of JSON Schema the gateway checks tool arguments with (docs/MCP.md): type,
// properties, required, additionalProperties, enum, const, minimum, maximum, minLength,
// maxLength, items, minItems, maxItems, boolean schemas, and the annotations title,
// description, default, examples, $comment, deprecated, readOnly, writeOnly. Any other keyword
// is refused when the schema is compiled, never ignored: a schema that says more than we check
// would let through what its author meant to keep out.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace smith::services::gateway {

/// A schema that cannot be compiled: an unsupported keyword or a keyword's value of the wrong
/// form. what() names the place in the schema as a JSON pointer: `/properties/path: "pattern"
/// is not supported (the gateway checks ...)`.
class schema_error : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// One way an instance breaks the schema: where (a JSON pointer into the instance, "" for the
/// whole) and why, for a person.
struct schema_violation {
  std::string where;
  std::string why;
};

class json_schema {
public:
  struct node;

  /// Compiles `doc` (an object or a boolean). Throws schema_error. Nesting deeper than
  /// `max_depth` subschemas is refused too.
  static json_schema compile(const nlohmann::json& doc, std::size_t max_depth = 32);

  /// The schema `true`: every instance is valid.
  json_schema();
  json_schema(json_schema&&) noexcept;
  json_schema& operator=(json_schema&&) noexcept;
  ~json_schema();

  /// The ways `instance` breaks the schema, at most `limit` of them; empty when it is valid.
  std::vector<schema_violation> validate(const nlohmann::json& instance,
                                         std::size_t limit = 8) const;

  /// The schema as given, for tools/list.
  const nlohmann::json& document() const noexcept {
    return doc_;
  }

private:
  json_schema(nlohmann::json doc, std::unique_ptr<node> root);

  nlohmann::json doc_;
  std::unique_ptr<node> root_;
};

/// JSON Schema's equality: numbers by value (1 equals 1.0), arrays item by item, objects by
/// the same keys with equal values.
bool json_equal(const nlohmann::json& a, const nlohmann::json& b);

} // namespace smith::services::gateway
