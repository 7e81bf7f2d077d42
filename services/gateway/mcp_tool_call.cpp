// tools/call: arguments checked against the tool's input schema before anything is submitted,
// the task run by the tool_runner, its outcome as a CallToolResult; progress on an SSE answer.
#include "services/gateway/mcp_messages.hpp"
#include "services/gateway/mcp_protocol.hpp"
#include "transport/clock.hpp"

#include <algorithm>

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
                                     const std::string& call_key, bool as_task) {
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
  using support = tool::task_support;
  if (!modern && as_task && t->tasks == support::forbidden)
    // 2025-11-25 tasks § Tool-Level Negotiation: SHOULD be -32601.
    return error_reply(200, id, rpc::method_not_found,
                       "Tool " + name
                         + " does not run as a task (execution.taskSupport forbidden)");
  if (!modern && !as_task && t->tasks == support::required)
    return error_reply(200, id, rpc::method_not_found,
                       "Tool " + name + " runs only as a task: send params.task");
  if (modern && !as_task && t->tasks == support::required)
    // tasks extension § Capability negotiation: a call we can only answer with a task.
    return error_reply(
      400, id, rpc::missing_capability, "Missing required client capability",
      json{{"requiredCapabilities", {{"extensions", {{std::string{ext_tasks}, json::object()}}}}}});
  bool task = as_task && t->tasks != support::forbidden;
  // Arguments that break the input schema are a tool execution error (isError), so that the
  // model can correct itself (2025-11-25 changelog, SEP-1303); nothing is submitted. A 2025-11-25
  // task request expects a CreateTaskResult or an error: an error.
  if (auto violations = t->input.validate(arguments); !violations.empty()) {
    auto text =
      violation_text("Invalid arguments for tool " + name + ":", violations, "(arguments)");
    if (!modern && task)
      return error_reply(200, id, rpc::invalid_params, text);
    auto r = text_result(text, true, modern);
    return result_reply(200, id, modern ? with_server_info(std::move(r)) : std::move(r));
  }
  auto task_id = mcp_task_id(name, call_key);
  if (task && (!modern || t->tasks == support::required)) {
    // Straight to a task: 2025-11-25 params.task, or a tool that only runs as one.
    if (auto refused = runner_.submit(*t, arguments, task_id); !refused.empty()) {
      if (!modern)
        return error_reply(200, id, rpc::internal_error,
                           name + " could not be started: " + refused);
      tool_outcome o{tool_outcome::kind::refused, "", refused, ""};
      return result_reply(200, id, with_server_info(tool_result(*t, o, true)));
    }
    task_view fresh;
    fresh.state = "queued";
    fresh.created_ms = fresh.updated_ms = transport::unix_ms();
    auto obj = task_object(*t, task_id, fresh, modern);
    if (!modern)
      return result_reply(200, id, json{{"task", std::move(obj)}});
    obj["resultType"] = "task";
    return result_reply(200, id, with_server_info(std::move(obj)));
  }
  // Answered when it ends; a 2026-07-28 call of a client with the tasks extension becomes its
  // task once it has taken task_after.
  auto wait_for = task ? std::min(t->task_after, t->timeout) : t->timeout;
  json token;
  if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object())
    if (auto tk = meta->find("progressToken");
        tk != meta->end() && (tk->is_string() || tk->is_number_integer()))
      token = *tk;
  auto cancelled =
    call_key.empty() ? std::make_shared<std::atomic<bool>>(false) : start_call(call_key);
  auto work = [this, t, id, modern, call_key, arguments, task_id, wait_for,
               task](const std::function<void(double, const std::string&)>& progress,
                     const std::function<bool()>& stop) {
    auto o = runner_.run(*t, arguments, task_id, progress, stop, wait_for);
    if (!call_key.empty())
      end_call(call_key);
    json r;
    if (task && o.how == tool_outcome::kind::timed_out) {
      auto v = runner_.look(task_id).value_or(task_view{});
      r = task_object(*t, task_id, v, true);
      r["resultType"] = "task";
    } else {
      r = tool_result(*t, o, modern);
    }
    return result_message(id, modern ? with_server_info(std::move(r)) : std::move(r));
  };
  if (!stream || token.is_null()) {
    auto final = work([](double, const std::string&) {}, [cancelled] { return cancelled->load(); });
    return mcp_response{200, {}, text_of(final), {}};
  }
  // 2026-07-28: a closed response stream is the cancellation (cancellation § HTTP);
  // 2025-11-25: a disconnect is not, the call goes on (transports § Sending Messages).
  return streamed(token, modern, cancelled, work);
}

mcp_response mcp_protocol::streamed(json token, bool close_stops,
                                    std::shared_ptr<std::atomic<bool>> gone, const work_fn& work) {
  mcp_response r;
  r.events = [this, token, close_stops, gone, work](const std::function<bool(const json&)>& send) {
    double last = -1;
    auto written = std::chrono::steady_clock::now();
    auto write = [&](const json& message) {
      written = std::chrono::steady_clock::now();
      if (!send(message) && close_stops)
        gone->store(true);
    };
    auto progress = [&](double percent, const std::string& message) {
      // progress § Progress Flow: the value MUST increase with each notification.
      if (token.is_null() || percent <= last || gone->load())
        return;
      last = percent;
      json params{{"progressToken", token}, {"progress", percent}, {"total", 100}};
      if (!message.empty())
        params["message"] = message;
      write(json{{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", params}});
    };
    // The runner asks often; a quiet stream gets a comment now and then, which also finds out
    // whether the client is still there.
    auto stop = [&] {
      if (!gone->load() && std::chrono::steady_clock::now() - written >= options_.keep_alive)
        write(json());
      return gone->load();
    };
    auto final = work(progress, stop);
    if (!(close_stops && gone->load()))
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
