#include "services/gateway/json_schema_node.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace smith::services::gateway {

using json = nlohmann::json;

using namespace schema_detail;

namespace {

// Keywords that only describe: accepted and not checked, as JSON Schema itself treats them.
const std::set<std::string, std::less<>> annotations{
  "title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly",
};

// The dialects whose meaning of the supported keywords is the one implemented here.
const std::set<std::string, std::less<>> dialects{
  "https://json-schema.org/draft/2020-12/schema",
  "http://json-schema.org/draft-07/schema#",
  "http://json-schema.org/draft-07/schema",
};

constexpr std::string_view supported_list =
  "type, properties, required, additionalProperties, enum, const, minimum, maximum, minLength, "
  "maxLength, items, minItems, maxItems";

} // namespace

namespace {

class compiler {
public:
  explicit compiler(std::size_t max_depth) : max_depth_(max_depth) {
  }

  std::unique_ptr<json_schema::node> compile(const json& doc, const std::string& at,
                                             std::size_t depth) {
    if (depth > max_depth_)
      fail(at, "nested deeper than " + std::to_string(max_depth_) + " schemas");
    auto n = std::make_unique<json_schema::node>();
    if (doc.is_boolean()) {
      n->boolean = doc.get<bool>();
      return n;
    }
    if (!doc.is_object())
      fail(at, "a schema is an object or a boolean, not " + shown(doc));
    for (const auto& [key, value] : doc.items()) {
      auto here = at + "/" + pointer_token(key);
      if (annotations.contains(key))
        continue;
      if (key == "$schema") {
        if (!value.is_string() || !dialects.contains(value.get<std::string>()))
          fail(here, "only JSON Schema 2020-12 or draft-07 is understood, not " + shown(value));
      } else if (key == "type") {
        n->types = types(value, here);
      } else if (key == "properties") {
        if (!value.is_object())
          fail(here, "must be an object of schemas");
        for (const auto& [name, sub] : value.items())
          n->properties.emplace(name, compile(sub, here + "/" + pointer_token(name), depth + 1));
      } else if (key == "required") {
        n->required = unique_strings(value, here);
      } else if (key == "additionalProperties") {
        n->additional = compile(value, here, depth + 1);
      } else if (key == "enum") {
        if (!value.is_array())
          fail(here, "must be an array");
        n->enumeration = std::vector<json>(value.begin(), value.end());
      } else if (key == "const") {
        n->constant = value;
      } else if (key == "minimum" || key == "maximum") {
        if (!value.is_number())
          fail(here, "must be a number");
        (key == "minimum" ? n->minimum : n->maximum) = value;
      } else if (key == "minLength") {
        n->min_length = count(value, here);
      } else if (key == "maxLength") {
        n->max_length = count(value, here);
      } else if (key == "minItems") {
        n->min_items = count(value, here);
      } else if (key == "maxItems") {
        n->max_items = count(value, here);
      } else if (key == "items") {
        if (value.is_array())
          fail(here, "an array of schemas (tuple items) is not supported; give one schema");
        n->items = compile(value, here, depth + 1);
      } else {
        fail(here, "\"" + key + "\" is not supported (the gateway checks "
                     + std::string{supported_list} + "; it refuses what it would not check)");
      }
    }
    return n;
  }

private:
  [[noreturn]] static void fail(const std::string& at, const std::string& why) {
    throw schema_error((at.empty() ? std::string{"(schema)"} : at) + ": " + why);
  }

  static std::uint8_t types(const json& value, const std::string& at) {
    auto one = [&](const json& name) -> std::uint8_t {
      if (name.is_string())
        for (const auto& [known, bit] : type_names)
          if (name.get<std::string>() == known)
            return bit;
      fail(at, "unknown type " + shown(name));
    };
    if (!value.is_array())
      return one(value);
    if (value.empty())
      fail(at, "must name at least one type");
    std::uint8_t mask = 0;
    for (const auto& name : value) {
      auto bit = one(name);
      if ((mask & bit) != 0)
        fail(at, "names " + shown(name) + " twice");
      mask |= bit;
    }
    return mask;
  }

  static std::vector<std::string> unique_strings(const json& value, const std::string& at) {
    if (!value.is_array())
      fail(at, "must be an array of property names");
    std::vector<std::string> out;
    for (const auto& name : value) {
      if (!name.is_string())
        fail(at, "must be an array of property names, not " + shown(name));
      if (std::find(out.begin(), out.end(), name.get<std::string>()) != out.end())
        fail(at, "names " + shown(name) + " twice");
      out.push_back(name.get<std::string>());
    }
    return out;
  }

  static std::size_t count(const json& value, const std::string& at) {
    if (!is_integral(value) || compare_numbers(value, json(0)) < 0)
      fail(at, "must be a whole number of at least 0, not " + shown(value));
    if (value.is_number_float())
      return static_cast<std::size_t>(std::min(value.get<double>(), 1e18));
    return value.is_number_unsigned() ? static_cast<std::size_t>(value.get<std::uint64_t>())
                                      : static_cast<std::size_t>(value.get<std::int64_t>());
  }

  std::size_t max_depth_;
};

class checker {
public:
  explicit checker(std::size_t limit) : limit_(limit) {
  }

  void check(const json_schema::node& n, const json& v, const std::string& at) {
    if (full())
      return;
    if (n.boolean) {
      if (!*n.boolean)
        add(at, "no value is allowed here");
      return;
    }
    auto type = type_of(v);
    if (n.types != 0 && (n.types & type) == 0) {
      add(at, "must be " + type_list(n.types) + ", not " + shown(v));
      return; // the rest of the keywords would only repeat it
    }
    if (n.constant && !json_equal(*n.constant, v))
      add(at, "must be " + shown(*n.constant) + ", not " + shown(v));
    if (n.enumeration
        && std::none_of(n.enumeration->begin(), n.enumeration->end(),
                        [&](const json& e) { return json_equal(e, v); })) {
      json allowed(*n.enumeration);
      add(at, "must be one of " + shown(allowed) + ", not " + shown(v));
    }
    if (v.is_number()) {
      if (n.minimum && compare_numbers(v, *n.minimum) < 0)
        add(at, shown(v) + " is below the minimum " + shown(*n.minimum));
      if (n.maximum && compare_numbers(v, *n.maximum) > 0)
        add(at, shown(v) + " is above the maximum " + shown(*n.maximum));
    } else if (v.is_string()) {
      auto len = code_points(v.get_ref<const std::string&>());
      if (n.min_length && len < *n.min_length)
        add(at, "is " + std::to_string(len) + " characters, fewer than the minimum "
                  + std::to_string(*n.min_length));
      if (n.max_length && len > *n.max_length)
        add(at, "is " + std::to_string(len) + " characters, more than the maximum "
                  + std::to_string(*n.max_length));
    } else if (v.is_array()) {
      if (n.min_items && v.size() < *n.min_items)
        add(at, "has " + std::to_string(v.size()) + " items, fewer than the minimum "
                  + std::to_string(*n.min_items));
      if (n.max_items && v.size() > *n.max_items)
        add(at, "has " + std::to_string(v.size()) + " items, more than the maximum "
                  + std::to_string(*n.max_items));
      if (n.items)
        for (std::size_t i = 0; i < v.size() && !full(); ++i)
          check(*n.items, v[i], at + "/" + std::to_string(i));
    } else if (v.is_object()) {
      for (const auto& name : n.required)
        if (!v.contains(name))
          add(at, "the property " + shown(json(name)) + " is required");
      for (const auto& [key, value] : v.items()) {
        if (full())
          break;
        auto here = at + "/" + pointer_token(key);
        if (auto it = n.properties.find(key); it != n.properties.end())
          check(*it->second, value, here);
        else if (n.additional && n.additional->boolean == false)
          add(here, "is not a property this schema knows (additionalProperties is false)");
        else if (n.additional)
          check(*n.additional, value, here);
      }
    }
  }

  std::vector<schema_violation> take() {
    return std::move(out_);
  }

private:
  bool full() const {
    return out_.size() >= limit_;
  }

  void add(const std::string& at, std::string why) {
    if (!full())
      out_.push_back({at, std::move(why)});
  }

  std::size_t limit_;
  std::vector<schema_violation> out_;
};

} // namespace

json_schema json_schema::compile(const json& doc, std::size_t max_depth) {
  compiler c{max_depth};
  auto root = c.compile(doc, "", 0);
  return json_schema{doc, std::move(root)};
}

json_schema::json_schema(json doc, std::unique_ptr<node> root)
  : doc_(std::move(doc)), root_(std::move(root)) {
}

json_schema::json_schema() : json_schema(compile(json(true))) {
}

json_schema::json_schema(json_schema&&) noexcept = default;
json_schema& json_schema::operator=(json_schema&&) noexcept = default;
json_schema::~json_schema() = default;

std::vector<schema_violation> json_schema::validate(const json& instance, std::size_t limit) const {
  checker c{std::max<std::size_t>(limit, 1)};
  c.check(*root_, instance, "");
  return c.take();
}

} // namespace smith::services::gateway
