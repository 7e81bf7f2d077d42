// MCP tasks over our tasks, one to one: the MCP task id is the task's id, tasks/get its status,
// tasks/cancel its cancel. Two revisions:
//   - 2025-11-25, the experimental tasks utility (basic/utilities/tasks): a tools/call with
//     params.task answers {task}; tasks/get, tasks/result (blocks until the end), tasks/cancel.
//   - 2026-07-28, the io.modelcontextprotocol/tasks extension: the server decides which call is
//     a task (resultType "task"); tasks/get carries the result once completed; tasks/update,
//     tasks/cancel are acknowledgements; tasks/result and tasks/list do not exist.
#include "services/gateway/mcp_messages.hpp"
#include "services/gateway/mcp_protocol.hpp"
#include "services/orchestrator/task_ids.hpp"
#include "transport/clock.hpp"

#include <algorithm>

namespace smith::services::gateway {

using json = nlohmann::json;
using namespace mcp_messages;

namespace {

constexpr std::string_view task_prefix = "mcp-";
constexpr std::size_t task_hex = 24;

// The MCP status of a task: its own state where MCP has one; a failed or dead task is a tool
// result with isError, which 2025-11-25 calls failed and the 2026-07-28 extension completed
// (tasks § Task Status: "failed" is for JSON-RPC errors only).
std::string mcp_status(const task_view& v, bool modern) {
  if (!v.finished)
    return "working";
  switch (v.outcome.how) {
    case tool_outcome::kind::cancelled:
      return "cancelled";
    case tool_outcome::kind::succeeded:
      return "completed";
    default:
      return modern ? "completed" : "failed";
  }
}

} // namespace

tool_outcome tool_runner::run(const tool& t, const json& arguments, const std::string& task_id,
                              const std::function<void(double, const std::string&)>& progress,
                              const std::function<bool()>& cancelled,
                              std::optional<std::chrono::milliseconds> timeout) {
  if (auto refused = submit(t, arguments, task_id); !refused.empty())
    return tool_outcome{tool_outcome::kind::refused, "", refused, ""};
  auto o = wait(task_id, timeout.value_or(t.timeout), progress, cancelled);
  if (o.how == tool_outcome::kind::cancelled && cancelled())
    cancel(task_id);
  return o;
}

std::string mcp_task_id(const std::string& tool_name, const std::string& call_key) {
  std::string name = tool_name;
  std::replace(name.begin(), name.end(), '.', '~');
  auto hex = call_key.empty() ? orchestrator::random_hex(task_hex / 2)
                              : orchestrator::sha256_hex(call_key, task_hex / 2);
  return std::string{task_prefix} + hex + "-" + name;
}

std::optional<std::string> tool_of_task_id(std::string_view id) {
  if (!id.starts_with(task_prefix) || id.size() < task_prefix.size() + task_hex + 2
      || id[task_prefix.size() + task_hex] != '-')
    return std::nullopt;
  auto hex = id.substr(task_prefix.size(), task_hex);
  if (hex.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return std::nullopt;
  std::string name{id.substr(task_prefix.size() + task_hex + 1)};
  std::replace(name.begin(), name.end(), '~', '.');
  return name;
}

json mcp_protocol::task_object(const tool& t, const std::string& task_id, const task_view& v,
                               bool modern) const {
  auto status = mcp_status(v, modern);
  json o{{"taskId", task_id},
         {"status", status},
         {"createdAt", transport::rfc3339_ms(v.created_ms)},
         {"lastUpdatedAt", transport::rfc3339_ms(std::max(v.updated_ms, v.created_ms))},
         {modern ? "ttlMs" : "ttl", options_.task_ttl.count()}};
  if (!v.finished) {
    o[modern ? "pollIntervalMs" : "pollInterval"] = options_.poll_interval.count();
    o["statusMessage"] = v.message.empty() ? v.state : v.state + ": " + v.message;
    return o;
  }
  auto result = tool_result(t, v.outcome, modern);
  if (status == "failed")
    o["statusMessage"] = result["content"][0]["text"];
  if (modern && status == "completed")
    o["result"] = std::move(result);
  return o;
}

mcp_response mcp_protocol::task_method_reply(const std::string& method, const json& id,
                                             const json& params, bool modern, bool stream) {
  int bad_status = modern ? 400 : 200;
  if (!params.contains("taskId") || !params["taskId"].is_string())
    return error_reply(bad_status, id, rpc::invalid_params, method + " needs \"taskId\", a string");
  auto task_id = params["taskId"].get<std::string>();
  auto name = tool_of_task_id(task_id);
  const tool* t = name ? tools_.find(*name) : nullptr;
  std::optional<task_view> v;
  if (t != nullptr)
    v = runner_.look(task_id); // throws when NATS cannot tell: -32603 (handle)
  // tasks § Error Handling: an unknown task id is -32602.
  if (!v)
    return error_reply(bad_status, id, rpc::invalid_params,
                       "Failed to retrieve task: Task not found");
  auto complete = [&](json r) {
    r["resultType"] = "complete";
    return result_reply(200, id, with_server_info(std::move(r)));
  };
  if (method == "tasks/get") {
    auto obj = task_object(*t, task_id, *v, modern);
    return modern ? complete(std::move(obj)) : result_reply(200, id, std::move(obj));
  }
  if (method == "tasks/cancel") {
    if (modern) {
      // Cooperative: an acknowledgement; the task may still end otherwise.
      if (!v->finished)
        runner_.cancel(task_id);
      return complete(json::object());
    }
    // 2025-11-25: a task in a terminal status is -32602; else it is cancelled before the
    // answer says so.
    if (v->finished)
      return error_reply(200, id, rpc::invalid_params,
                         "Cannot cancel task: already in terminal status '" + mcp_status(*v, false)
                           + "'");
    runner_.cancel(task_id);
    task_view gone = *v;
    gone.finished = true;
    gone.outcome = tool_outcome{tool_outcome::kind::cancelled, "", "", task_id};
    gone.updated_ms = transport::unix_ms();
    auto obj = task_object(*t, task_id, gone, false);
    obj["statusMessage"] = "The task was cancelled by request.";
    return result_reply(200, id, std::move(obj));
  }
  if (method == "tasks/update") // we never ask for input: nothing is outstanding
    return complete(json::object());
  // tasks/result (2025-11-25): the call's own result once the task has ended; until then the
  // answer waits (on an SSE stream kept alive, as long as the task lives; as one JSON object, up
  // to the tool's timeout).
  auto answer = [this, t, id, task_id](const tool_outcome& o) {
    auto r = tool_result(*t, o, false);
    r["_meta"][meta_related_task] = json{{"taskId", task_id}};
    return result_message(id, std::move(r));
  };
  if (v->finished)
    return mcp_response{200, {}, text_of(answer(v->outcome)), {}};
  auto gone = std::make_shared<std::atomic<bool>>(false);
  auto timeout = stream ? options_.task_ttl : t->timeout;
  auto work = [this, t, id, task_id, timeout,
               answer](const std::function<void(double, const std::string&)>& progress,
                       const std::function<bool()>& stop) {
    auto o = runner_.wait(task_id, timeout, progress, stop);
    if (o.how == tool_outcome::kind::timed_out)
      return error_message(id, rpc::internal_error,
                           "task " + task_id + " of " + t->name + " is still running after "
                             + std::to_string(timeout.count() / 1000)
                             + "s; ask tasks/result again");
    return answer(o);
  };
  if (!stream)
    return mcp_response{
      200, {}, text_of(work([](double, const std::string&) {}, [] { return false; })), {}};
  return streamed(json(), true, gone, work);
}

} // namespace smith::services::gateway
