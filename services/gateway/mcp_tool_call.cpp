// tools/call: arguments checked against the tool's input schema before anything is submitted,
// the task run by the tool_runner, its outcome as a CallToolResult; progress on an SSE answer.
#include "services/gateway/mcp_messages.hpp"
#include "services/gateway/mcp_protocol.hpp"

namespace smith::services::gateway {

using json = nlohmann::json;
using namespace mcp_messages;

namespace {

json text_result(const std::string& text, bool is_error, bool modern) {
  json r{{"content", json::array({json{{"type", "text"}, {"text", text}}})}, {"isError", is_error}};
  if (modern)
    r["resultType"] = "complete";
  return r;
}

// The violations as lines under `heading`, each "<where>: <why>" (`whole` names the root).
std::string violation_text(std::string heading, const std::vector<schema_violation>& violations,
                           const char* whole) {
  for (const auto& v : violations)
    heading += "\n" + (v.where.empty() ? std::string{whole} : v.where) + ": " + v.why;
  return heading;
}

std::string seconds(std::chrono::milliseconds d) {
  return std::to_string(d.count() / 1000) + "s";
}

} // namespace

json mcp_protocol::tool_result(const tool& t, const tool_outcome& o, bool modern) const {
  using kind = tool_outcome::kind;
  auto task = o.task_id.empty() ? std::string{} : " (task " + o.task_id + ")";
  switch (o.how) {
    case kind::succeeded: {
      auto r = text_result(o.output, false, modern);
      auto parsed = json::parse(o.output, nullptr, false);
      if (t.output) {
        // tools § Output Schema: structured results MUST conform; output that does not is the
        // tool's error, said so, rather than content that breaks the promise.
        auto violations = parsed.is_discarded() ? std::vector<schema_violation>{{"", "is not JSON"}}
                                                : t.output->validate(parsed);
        if (!violations.empty())
          return text_result(
            violation_text("the output of " + t.name + task + " does not match its output schema:",
                           violations, "(output)"),
            true, modern);
        r["structuredContent"] = std::move(parsed);
      } else if (!parsed.is_discarded() && parsed.is_object()) {
        r["structuredContent"] = std::move(parsed);
      }
      return r;
    }
    case kind::failed:
      return text_result(t.name + " failed" + task + ": " + o.error, true, modern);
    case kind::dead:
      return text_result(t.name + task + " is dead, its attempts used up: " + o.error, true,
                         modern);
    case kind::cancelled:
      return text_result(t.name + task + " was cancelled", true, modern);
    case kind::timed_out:
      return text_result("no result from " + t.name + task + " within " + seconds(t.timeout)
                           + "; the task goes on",
                         true, modern);
    case kind::refused:
      break;
  }
  return text_result(t.name + " could not be started: " + o.error, true, modern);
}

mcp_response mcp_protocol::call_tool(const json& id, const json& params, bool modern, bool stream,
                                     const std::string& call_key) {
  // A request that breaks CallToolRequest, or names no tool of ours, is a protocol error
  // (tools § Error Handling): -32602, which the 2026-07-28 HTTP transport sends with 400.
  int bad_status = modern ? 400 : 200;
  if (!params.contains("name") || !params["name"].is_string())
    return error_reply(bad_status, id, rpc::invalid_params, "tools/call needs \"name\", a string");
  auto name = params["name"].get<std::string>();
  const tool* t = tools_.find(name);
  if (t == nullptr)
    return error_reply(bad_status, id, rpc::invalid_params, "Unknown tool: " + name);
  auto arguments = params.value("arguments", json::object());
  if (!arguments.is_object())
    return error_reply(bad_status, id, rpc::invalid_params, "\"arguments\" must be an object");
  // Arguments that break the input schema are a tool execution error (isError), so that the
  // model can correct itself (2025-11-25 changelog, SEP-1303); nothing is submitted.
  if (auto violations = t->input.validate(arguments); !violations.empty()) {
    auto r = text_result(
      violation_text("Invalid arguments for tool " + name + ":", violations, "(arguments)"), true,
      modern);
    return result_reply(200, id, modern ? with_server_info(std::move(r)) : std::move(r));
  }
  json token;
  if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object())
    if (auto tk = meta->find("progressToken");
        tk != meta->end() && (tk->is_string() || tk->is_number_integer()))
      token = *tk;
  auto cancelled =
    call_key.empty() ? std::make_shared<std::atomic<bool>>(false) : start_call(call_key);
  auto finish = [this, t, id, modern, call_key](const tool_outcome& o) {
    if (!call_key.empty())
      end_call(call_key);
    auto r = tool_result(*t, o, modern);
    return result_message(id, modern ? with_server_info(std::move(r)) : std::move(r));
  };
  if (!stream || token.is_null()) {
    auto o = runner_.run(
      *t, arguments, call_key, [](double, const std::string&) {},
      [cancelled] { return cancelled->load(); });
    return mcp_response{200, {}, text_of(finish(o)), {}};
  }
  mcp_response r;
  r.events = [this, t, arguments, call_key, token, modern, cancelled,
              finish](const std::function<bool(const json&)>& send) {
    double last = -1;
    auto progress = [&](double percent, const std::string& message) {
      // progress § Progress Flow: the value MUST increase with each notification.
      if (percent <= last || cancelled->load())
        return;
      last = percent;
      json params{{"progressToken", token}, {"progress", percent}, {"total", 100}};
      if (!message.empty())
        params["message"] = message;
      bool delivered =
        send(json{{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", params}});
      // 2026-07-28: a closed response stream is the cancellation (cancellation § HTTP);
      // 2025-11-25: a disconnect is not, the call goes on (transports § Sending Messages).
      if (!delivered && modern)
        cancelled->store(true);
    };
    auto o =
      runner_.run(*t, arguments, call_key, progress, [cancelled] { return cancelled->load(); });
    auto final = finish(o);
    if (!(modern && cancelled->load()))
      (void)send(final);
  };
  return r;
}

std::shared_ptr<std::atomic<bool>> mcp_protocol::start_call(const std::string& key) {
  std::lock_guard guard{mtx_};
  auto& flag = calls_[key];
  flag = std::make_shared<std::atomic<bool>>(false);
  return flag;
}

void mcp_protocol::end_call(const std::string& key) {
  std::lock_guard guard{mtx_};
  calls_.erase(key);
}

void mcp_protocol::cancel_call(const std::string& key) {
  std::lock_guard guard{mtx_};
  if (auto it = calls_.find(key); it != calls_.end())
    it->second->store(true);
}

} // namespace smith::services::gateway
