// The gateway's tools file (SMITH_GATEWAY_TOOLS): which worker task types are offered to MCP
// clients as tools, how each is described, which arguments it takes, and how its arguments
// become the task's payload. Read once at start; anything it does not understand stops the
// gateway with the place and the reason (exit 2), never a tool that checks less than it says.
#pragma once

#include "services/gateway/json_schema.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace smith::services::gateway {

/// A tools file that cannot be used. what() starts with the place: `tools[2].input_schema/...`.
class tools_file_error : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// How a call's arguments become the task's payload.
struct payload_rule {
  enum class kind : std::uint8_t {
    /// The arguments object as compact JSON text (the default).
    arguments,
    /// One argument: a string as its own bytes, any other value as compact JSON text.
    argument,
    /// A JSON value in which every string that is exactly "{{name}}" is replaced by that
    /// argument's value (a whole value, never spliced into text, so no quoting can go wrong); an
    /// absent argument drops its object member or array item. The result as compact JSON text.
    templated,
  };
  kind how = kind::arguments;
  std::string name;     ///< argument
  nlohmann::json shape; ///< templated
};

struct tool {
  std::string name;        ///< 1-128 of A-Z a-z 0-9 _ . -
  std::string title;       ///< optional
  std::string description; ///< required: what an agent reads to choose the tool
  std::string role;        ///< the task's role (a subject token)
  std::string type;        ///< the task's type (a subject token)
  json_schema input;       ///< its root is of type object, as MCP requires
  std::optional<json_schema> output;
  std::chrono::milliseconds timeout{60'000}; ///< how long a call waits for the task's result
  payload_rule payload;
  /// Whether a call may (optional), must (required) or must not (forbidden) become an MCP task
  /// that the client polls (2025-11-25 execution.taskSupport; the 2026-07-28 tasks extension).
  enum class task_support : std::uint8_t { forbidden, optional, required };
  task_support tasks = task_support::optional;
  /// 2026-07-28, optional: a call from a client with the tasks extension that has no result
  /// after this long is answered with its task instead.
  std::chrono::milliseconds task_after{5'000};
};

/// "forbidden", "optional" or "required".
const char* to_string(tool::task_support s);

/// The tools of a file, in its order (tools/list answers in this order).
struct tools_file {
  std::vector<tool> tools;

  /// The tool called `name`, or nullptr.
  const tool* find(std::string_view name) const;
};

/// Reads a tools file's text. Throws tools_file_error.
tools_file parse_tools_file(std::string_view text);

/// The task payload for `arguments` (an object that passed the tool's input schema).
std::string payload_for(const tool& t, const nlohmann::json& arguments);

/// The tool as tools/list describes it: name, title, description, inputSchema, outputSchema.
nlohmann::json describe(const tool& t);

} // namespace smith::services::gateway
