#include "services/gateway/tools_file.hpp"

#include "transport/config.hpp"
#include "transport/wire/subjects.hpp"

#include <algorithm>
#include <set>

namespace smith::services::gateway {

using json = nlohmann::json;

namespace {

constexpr std::size_t max_tools = 1024;
constexpr std::chrono::milliseconds min_timeout{1000};
constexpr std::chrono::milliseconds max_timeout{24 * 3600 * 1000};

[[noreturn]] void fail(const std::string& at, const std::string& why) {
  throw tools_file_error(at + ": " + why);
}

// MCP's advice for tool names (1 to 128 of these characters), kept as a rule here: a name is
// what an agent and a log line both have to carry.
bool good_tool_name(const std::string& name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
           || c == '.' || c == '-';
  });
}

std::string text_field(const json& entry, const char* key, const std::string& at, bool required) {
  auto it = entry.find(key);
  if (it == entry.end()) {
    if (required)
      fail(at, std::string{"\""} + key + "\" is required");
    return {};
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    fail(at + "." + key, "must be a non-empty string");
  return it->get<std::string>();
}

// "{{name}}" → name; anything else → nothing.
std::optional<std::string> placeholder(const json& v) {
  if (!v.is_string())
    return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() < 5 || !s.starts_with("{{") || !s.ends_with("}}"))
    return std::nullopt;
  auto name = s.substr(2, s.size() - 4);
  if (!good_tool_name(name))
    return std::nullopt;
  return name;
}

void check_placeholders(const json& shape, const std::set<std::string>& declared,
                        const std::string& at) {
  if (auto name = placeholder(shape)) {
    if (!declared.contains(*name))
      fail(at, "\"{{" + *name + "}}\" names no property of the input schema");
    return;
  }
  if (shape.is_object()) {
    for (const auto& [k, v] : shape.items()) {
      auto here = at;
      here += "." + k;
      check_placeholders(v, declared, here);
    }
  } else if (shape.is_array()) {
    for (std::size_t i = 0; i < shape.size(); ++i) {
      auto here = at;
      here += "[" + std::to_string(i) + "]";
      check_placeholders(shape[i], declared, here);
    }
  }
}

payload_rule payload_of(const json& entry, const std::set<std::string>& declared,
                        const std::string& at) {
  payload_rule rule;
  auto it = entry.find("payload");
  if (it == entry.end() || *it == "arguments")
    return rule;
  auto here = at + ".payload";
  if (!it->is_object() || it->size() != 1)
    fail(here, "must be \"arguments\", {\"argument\": <name>} or {\"template\": <JSON>}");
  if (auto arg = it->find("argument"); arg != it->end()) {
    if (!arg->is_string() || !declared.contains(arg->get<std::string>()))
      fail(here + ".argument", "must name a property of the input schema");
    rule.how = payload_rule::kind::argument;
    rule.name = arg->get<std::string>();
    return rule;
  }
  if (auto shape = it->find("template"); shape != it->end()) {
    check_placeholders(*shape, declared, here + ".template");
    rule.how = payload_rule::kind::templated;
    rule.shape = *shape;
    return rule;
  }
  fail(here, "must be \"arguments\", {\"argument\": <name>} or {\"template\": <JSON>}");
}

json_schema schema_of(const json& doc, const std::string& at, bool input) {
  try {
    auto schema = json_schema::compile(doc);
    // Arguments are an object; so is structured output in MCP 2025-11-25 (2026-07-28 allows
    // any, so an object root serves both).
    if (!doc.is_object() || doc.value("type", json()) != "object")
      fail(at, std::string{"the root must say \"type\": \"object\" (MCP: "}
                 + (input ? "arguments are an object)" : "structured output is an object)"));
    return schema;
  } catch (const schema_error& e) {
    fail(at, e.what());
  }
}

tool tool_of(const json& entry, const std::string& at) {
  static const std::set<std::string, std::less<>> known{
    "name",          "title",   "description", "role", "type",       "input_schema",
    "output_schema", "timeout", "payload",     "task", "task_after",
  };
  if (!entry.is_object())
    fail(at, "must be an object");
  for (const auto& [key, value] : entry.items())
    if (!known.contains(key))
      fail(at, "unknown field \"" + key + "\"");
  tool t;
  t.name = text_field(entry, "name", at, true);
  if (!good_tool_name(t.name))
    fail(at + ".name", "1 to 128 of A-Z a-z 0-9 _ . - (got \"" + t.name + "\")");
  auto here = at + " (" + t.name + ")";
  t.title = text_field(entry, "title", here, false);
  t.description = text_field(entry, "description", here, true);
  t.role = text_field(entry, "role", here, true);
  t.type = text_field(entry, "type", here, true);
  if (!transport::wire::is_subject_token(t.role))
    fail(here + ".role", "must be one subject token (no '.', '*', '>' or space)");
  if (!transport::wire::is_subject_token(t.type))
    fail(here + ".type", "must be one subject token (no '.', '*', '>' or space)");
  if (!entry.contains("input_schema"))
    fail(here, "\"input_schema\" is required");
  t.input = schema_of(entry["input_schema"], here + ".input_schema", true);
  if (entry.contains("output_schema"))
    t.output = schema_of(entry["output_schema"], here + ".output_schema", false);
  if (entry.contains("timeout")) {
    auto text = text_field(entry, "timeout", here, true);
    auto d = transport::parse_duration(text);
    if (!d || *d < min_timeout || *d > max_timeout)
      fail(here + ".timeout",
           "a duration from 1s to 24h, such as 30s or 5m (got \"" + text + "\")");
    t.timeout = *d;
  }
  if (entry.contains("task")) {
    auto text = text_field(entry, "task", here, true);
    if (text == "forbidden")
      t.tasks = tool::task_support::forbidden;
    else if (text == "required")
      t.tasks = tool::task_support::required;
    else if (text != "optional")
      fail(here + ".task", "\"forbidden\", \"optional\" or \"required\" (got \"" + text + "\")");
  }
  if (entry.contains("task_after")) {
    auto text = text_field(entry, "task_after", here, true);
    auto d = transport::parse_duration(text);
    if (!d || *d < std::chrono::milliseconds{0} || *d > t.timeout)
      fail(here + ".task_after",
           "a duration from 0s to the tool's timeout, such as 5s (got \"" + text + "\")");
    t.task_after = *d;
  }
  std::set<std::string> declared;
  if (auto props = entry["input_schema"].find("properties");
      props != entry["input_schema"].end() && props->is_object())
    for (const auto& [key, value] : props->items())
      declared.insert(key);
  t.payload = payload_of(entry, declared, here);
  return t;
}

// The template with the arguments in place; nothing when an absent argument removes it.
std::optional<json> fill(const json& shape, const json& arguments) {
  if (auto name = placeholder(shape)) {
    auto it = arguments.find(*name);
    if (it == arguments.end())
      return std::nullopt;
    return *it;
  }
  if (shape.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : shape.items())
      if (auto filled = fill(v, arguments))
        out[k] = std::move(*filled);
    return out;
  }
  if (shape.is_array()) {
    json out = json::array();
    for (const auto& v : shape)
      if (auto filled = fill(v, arguments))
        out.push_back(std::move(*filled));
    return out;
  }
  return shape;
}

std::string compact(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

const tool* tools_file::find(std::string_view name) const {
  for (const auto& t : tools)
    if (t.name == name)
      return &t;
  return nullptr;
}

tools_file parse_tools_file(std::string_view text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded())
    fail("tools file", "not valid JSON");
  if (!doc.is_object() || !doc.contains("tools") || !doc["tools"].is_array())
    fail("tools file", "must be an object with a \"tools\" array");
  for (const auto& [key, value] : doc.items())
    if (key != "tools")
      fail("tools file", "unknown field \"" + key + "\"");
  const auto& list = doc["tools"];
  if (list.empty())
    fail("tools", "no tool is offered");
  if (list.size() > max_tools)
    fail("tools", "more than " + std::to_string(max_tools) + " tools");
  tools_file out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto t = tool_of(list[i], "tools[" + std::to_string(i) + "]");
    if (out.find(t.name) != nullptr)
      fail("tools[" + std::to_string(i) + "].name", "\"" + t.name + "\" is offered twice");
    out.tools.push_back(std::move(t));
  }
  return out;
}

std::string payload_for(const tool& t, const json& arguments) {
  switch (t.payload.how) {
    case payload_rule::kind::arguments:
      return compact(arguments);
    case payload_rule::kind::argument: {
      auto it = arguments.find(t.payload.name);
      if (it == arguments.end())
        return {};
      return it->is_string() ? it->get<std::string>() : compact(*it);
    }
    case payload_rule::kind::templated:
      return compact(fill(t.payload.shape, arguments).value_or(json()));
  }
  return compact(arguments);
}

const char* to_string(tool::task_support s) {
  switch (s) {
    case tool::task_support::forbidden:
      return "forbidden";
    case tool::task_support::required:
      return "required";
    case tool::task_support::optional:
      break;
  }
  return "optional";
}

json describe(const tool& t) {
  json d{{"name", t.name}, {"description", t.description}, {"inputSchema", t.input.document()}};
  if (!t.title.empty())
    d["title"] = t.title;
  if (t.output)
    d["outputSchema"] = t.output->document();
  return d;
}

} // namespace smith::services::gateway
