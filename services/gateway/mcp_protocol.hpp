// The Model Context Protocol over Streamable HTTP, as the gateway speaks it, without the HTTP
// library and without NATS: a request in (method, headers, body), an answer out, and the tool
// calls handed to a tool_runner. Two revisions on one endpoint:
//   - 2026-07-28 (modern): stateless; every request carries its version and capabilities in
//     params._meta and the MCP-Protocol-Version / Mcp-Method / Mcp-Name headers, which must
//     agree with the body; server/discover; no GET stream, no sessions.
//   - 2025-11-25 (legacy): initialize, notifications/initialized, ping, Mcp-Session-Id.
// A request is modern when its MCP-Protocol-Version header names a version after the handshake
// era, as the specification's dual-era servers decide (basic/versioning, "Dual-era").
#pragma once

#include "services/gateway/tools_file.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smith::services::gateway {

inline constexpr std::string_view modern_version = "2026-07-28";
inline constexpr std::string_view legacy_version = "2025-11-25";

/// What the HTTP layer hands over. Header names are compared without regard to case.
struct mcp_request {
  std::string method;                         ///< GET, POST, DELETE, ...
  std::map<std::string, std::string> headers; ///< names lower-cased by the caller
  std::string body;

  /// The header's value, or nothing.
  std::optional<std::string> header(std::string_view lower_name) const;
};

/// What the HTTP layer sends back. A body is JSON (application/json) unless `events` is set:
/// then the answer is an SSE stream (text/event-stream) of the JSON messages `events` writes.
struct mcp_response {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body; ///< empty for 202 and for a stream

  /// Runs on the HTTP layer's thread for a streamed answer; `send` writes one message as one
  /// SSE event (a null message: an SSE comment, to keep the connection) and returns false once
  /// the client has gone (2026-07-28: that cancels the call).
  std::function<void(const std::function<bool(const nlohmann::json&)>& send)> events;
};

/// How a tool call ended, as the runner reports it.
struct tool_outcome {
  enum class kind : std::uint8_t { succeeded, failed, dead, cancelled, timed_out, refused };
  kind how = kind::failed;
  std::string output; ///< the task's output (succeeded), as text
  std::string error;  ///< why (every other kind)
  std::string task_id;
};

/// A task as it is now.
struct task_view {
  bool finished = false;
  tool_outcome outcome;        ///< when finished
  std::string state;           ///< scheduled, queued, running, succeeded, failed, dead, cancelled
  std::string message;         ///< what it is doing (a running task's progress), may be empty
  std::int64_t created_ms = 0; ///< when it was queued, or once started, when its attempt began
  std::int64_t updated_ms = 0;
};

/// Runs tool calls as tasks: `run` for a call answered when it ends, the rest for a call that
/// became an MCP task the client polls. `progress(percent, message)` may be called while it
/// runs; `cancelled()` turns true when the client has gone or cancelled: the runner then
/// cancels the task and returns. The same `task_id` twice is the same task.
class tool_runner {
public:
  virtual ~tool_runner() = default;
  /// Queues the task. Empty when queued (or already there), else why it was refused.
  virtual std::string submit(const tool& t, const nlohmann::json& arguments,
                             const std::string& task_id) = 0;
  /// Waits for the task's end up to `timeout` (then kind::timed_out; the task goes on), or
  /// until `stop()` turns true (then kind::cancelled, the task left as it is).
  virtual tool_outcome wait(const std::string& task_id, std::chrono::milliseconds timeout,
                            const std::function<void(double, const std::string&)>& progress,
                            const std::function<bool()>& stop) = 0;
  /// The task now; nothing when there is no such task. Throws when it cannot tell.
  virtual std::optional<task_view> look(const std::string& task_id) = 0;
  /// Stops the task (a finished one stays as it is).
  virtual void cancel(const std::string& task_id) = 0;

  /// submit, then wait up to `timeout` (the tool's when not given); cancels the task when
  /// `cancelled()` turns true.
  tool_outcome run(const tool& t, const nlohmann::json& arguments, const std::string& task_id,
                   const std::function<void(double, const std::string&)>& progress,
                   const std::function<bool()>& cancelled,
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt);
};

/// The task id of a call: "mcp-<24 hex>-<tool>" (a '.' of the tool's name as '~'), hex from
/// `call_key` (the same key, the same task) or random when it is empty. The tool is in the id
/// so that any gateway can answer tasks/get about it.
std::string mcp_task_id(const std::string& tool_name, const std::string& call_key);

/// The tool named in a task id of mcp_task_id's form, or nothing.
std::optional<std::string> tool_of_task_id(std::string_view task_id);

struct mcp_options {
  std::string server_name = "smith-gateway";
  std::string server_version;
  /// Origins allowed to call (exact "scheme://host[:port]"). A request whose Origin header is
  /// present and not listed gets 403 (DNS rebinding, transports § Security Warning).
  std::vector<std::string> allowed_origins;
  /// Legacy sessions kept at most; the oldest is forgotten first (its client gets 404 and
  /// initializes again, as the specification tells it to).
  std::size_t max_sessions = 10'000;
  /// How long tools/list and server/discover may be cached by a 2026-07-28 client.
  std::chrono::milliseconds list_ttl{300'000};
  /// A streamed answer with nothing to say for this long gets an SSE comment: proxies keep the
  /// connection, and a client that has gone is noticed (2026-07-28: that cancels the call).
  std::chrono::milliseconds keep_alive{10'000};
  /// How long a task and its result are kept (the results stream's max age): an MCP task's ttl.
  std::chrono::milliseconds task_ttl{std::chrono::hours{24}};
  /// How often a client is told to poll a task.
  std::chrono::milliseconds poll_interval{1'000};
  /// A legacy session unused for this long is forgotten (its client gets 404 and initializes
  /// again).
  std::chrono::milliseconds session_idle{std::chrono::hours{24}};
};

class mcp_protocol {
public:
  mcp_protocol(const tools_file& tools, tool_runner& runner, mcp_options options);

  /// Answers one HTTP request to the MCP endpoint. Never throws.
  mcp_response handle(const mcp_request& req);

private:
  mcp_response notification(const mcp_request& req, const nlohmann::json& msg, bool modern);
  mcp_response handle_modern(const mcp_request& req, const nlohmann::json& msg);
  mcp_response handle_legacy(const mcp_request& req, const nlohmann::json& msg);
  /// tools/call. `call_key`: the task's identity for a retry (empty: a new task each time).
  /// `as_task`: 2025-11-25 params.task, or 2026-07-28 with the tasks extension declared.
  mcp_response call_tool(const nlohmann::json& id, const nlohmann::json& params, bool modern,
                         bool stream, const std::string& call_key, bool as_task);
  /// tasks/get, tasks/result, tasks/cancel, tasks/update (mcp_tasks.cpp).
  mcp_response task_method_reply(const std::string& method, const nlohmann::json& id,
                                 const nlohmann::json& params, bool modern, bool stream);
  /// The MCP Task object of a task (2025-11-25 ttl/pollInterval; 2026-07-28 ttlMs/pollIntervalMs
  /// and, once it ended, its result).
  nlohmann::json task_object(const tool& t, const std::string& task_id, const task_view& v,
                             bool modern) const;
  /// An SSE answer: `work` runs with a progress callback (a notifications/progress per step when
  /// `token` is set) and a stop() that keeps a quiet stream alive with comments and is true once
  /// `gone` is; its message goes last. With `close_stops`, a stream that closes sets `gone` and
  /// nothing more is sent.
  using work_fn =
    std::function<nlohmann::json(const std::function<void(double, const std::string&)>& progress,
                                 const std::function<bool()>& stop)>;
  mcp_response streamed(nlohmann::json token, bool close_stops,
                        std::shared_ptr<std::atomic<bool>> gone, const work_fn& work);
  nlohmann::json tool_result(const tool& t, const tool_outcome& outcome, bool modern) const;
  nlohmann::json tools_list(bool modern) const;
  nlohmann::json server_info() const;
  nlohmann::json with_server_info(nlohmann::json result) const;

  std::string new_session();
  bool known_session(const std::string& id);
  void end_session(const std::string& id);
  /// Calls in flight by their call key, for notifications/cancelled (2025-11-25).
  std::shared_ptr<std::atomic<bool>> start_call(const std::string& key);
  void end_call(const std::string& key);
  void cancel_call(const std::string& key);

  const tools_file& tools_;
  tool_runner& runner_;
  mcp_options options_;
  std::mutex mtx_;
  struct session {
    std::uint64_t order = 0; ///< creation order
    std::chrono::steady_clock::time_point used;
  };
  std::map<std::string, session> sessions_; ///< guarded by mtx_
  std::uint64_t session_counter_ = 0;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> calls_; ///< guarded by mtx_
};

/// JSON-RPC error codes (2026-07-28 basic/index § Error Codes; JSON-RPC 2.0 § 5.1).
namespace rpc {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int header_mismatch = -32020;
inline constexpr int missing_capability = -32021;
inline constexpr int unsupported_version = -32022;
} // namespace rpc

} // namespace smith::services::gateway
