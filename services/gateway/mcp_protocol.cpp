#include "services/gateway/mcp_protocol.hpp"

#include "services/common/json_depth.hpp"
#include "services/gateway/mcp_messages.hpp"
#include "services/orchestrator/task_ids.hpp"
#include "transport/wire/base64.hpp"

#include <algorithm>
#include <array>

namespace smith::services::gateway {

using json = nlohmann::json;
using namespace mcp_messages;

namespace {

constexpr std::size_t max_message_depth = 64;

constexpr std::array<std::string_view, 4> handshake_versions{"2024-11-05", "2025-03-26",
                                                             "2025-06-18", "2025-11-25"};

bool is_handshake_version(std::string_view v) {
  return std::find(handshake_versions.begin(), handshake_versions.end(), v)
         != handshake_versions.end();
}

bool lists(const std::optional<std::string>& header, std::string_view type) {
  return header
         && (header->find(type) != std::string::npos || header->find("*/*") != std::string::npos);
}

// Mcp-Name as sent: plain, or "=?base64?<UTF-8 bytes as base64>?=" (streamable-http § Standard
// Request Headers). Nothing when the encoded form does not decode.
std::optional<std::string> decoded_name(const std::string& value) {
  if (!value.starts_with("=?base64?") || !value.ends_with("?=") || value.size() < 11)
    return value;
  return transport::wire::base64_decode(value.substr(9, value.size() - 11));
}

// A 2025-11-25 call's identity: its session and its request id (a retry repeats both).
std::string session_call_key(const std::string& session, const json& request_id) {
  return "session " + session + " " + request_id.dump();
}

} // namespace

std::optional<std::string> mcp_request::header(std::string_view lower_name) const {
  auto it = headers.find(std::string{lower_name});
  if (it == headers.end())
    return std::nullopt;
  return it->second;
}

mcp_protocol::mcp_protocol(const tools_file& tools, tool_runner& runner, mcp_options options)
  : tools_(tools), runner_(runner), options_(std::move(options)) {
}

mcp_response mcp_protocol::handle(const mcp_request& req) {
  try {
    // transports § Security Warning: a present Origin that is not ours is DNS rebinding.
    if (auto origin = req.header("origin");
        origin
        && std::find(options_.allowed_origins.begin(), options_.allowed_origins.end(), *origin)
             == options_.allowed_origins.end())
      return error_reply(403, json(), rpc::invalid_request,
                         "Origin " + *origin + " is not allowed");
    auto version = req.header("mcp-protocol-version");
    bool modern = version && !is_handshake_version(*version);
    if (req.method == "DELETE" && !modern) {
      // 2025-11-25 § Session Management: DELETE ends the session.
      auto session = req.header("mcp-session-id");
      if (!session)
        return error_reply(400, json(), rpc::invalid_request, "Bad Request: Missing session ID");
      if (!known_session(*session))
        return error_reply(404, json(), rpc::invalid_request, "Session not found");
      end_session(*session);
      return mcp_response{200, {}, "", {}};
    }
    if (req.method != "POST") {
      // No server-initiated stream in either revision (2025-11-25 allows 405 for GET;
      // 2026-07-28 answers GET and DELETE with 405).
      auto r = error_reply(405, json(), rpc::invalid_request,
                           req.method + " is not served on the MCP endpoint");
      r.headers["Allow"] = modern ? "POST" : "POST, DELETE";
      return r;
    }
    // No Accept header accepts anything (RFC 9110 § 12.5.1).
    if (auto accept = req.header("accept"); accept && !lists(accept, "application/json"))
      return error_reply(406, json(), rpc::invalid_request,
                         "Not Acceptable: the client must accept application/json (and "
                         "text/event-stream for progress)");
    auto type = req.header("content-type");
    if (!type || !type->starts_with("application/json"))
      return error_reply(415, json(), rpc::invalid_request,
                         "Unsupported Media Type: the body must be application/json");
    auto msg = json::parse(req.body, nullptr, false);
    if (msg.is_discarded())
      return error_reply(400, json(), rpc::parse_error, "Parse error: the body is not JSON");
    // Written and compared recursively later: a message nested deeper is refused here.
    if (common::nests_deeper_than(msg, max_message_depth))
      return error_reply(400, json(), rpc::invalid_request,
                         "the message nests deeper than " + std::to_string(max_message_depth));
    if (msg.is_array())
      return error_reply(400, json(), rpc::invalid_request,
                         "a batch is not accepted: send one JSON-RPC message per request");
    if (!msg.is_object() || msg.value("jsonrpc", json()) != "2.0")
      return error_reply(400, json(), rpc::invalid_request,
                         "not a JSON-RPC 2.0 message (\"jsonrpc\": \"2.0\" is required)");
    bool has_method = msg.contains("method");
    if (!has_method && (msg.contains("result") || msg.contains("error"))) {
      // A response: 2025-11-25 accepts one with 202 (we send no requests, so it answers
      // nothing); 2026-07-28 says a client MUST NOT send them.
      if (modern)
        return error_reply(400, json(), rpc::invalid_request, "a client sends no responses");
      return mcp_response{202, {}, "", {}};
    }
    if (!has_method || !msg["method"].is_string())
      return error_reply(400, json(), rpc::invalid_request, "\"method\" must be a string");
    if (msg.contains("params") && !msg["params"].is_object())
      return error_reply(400, id_of(msg), rpc::invalid_params, "\"params\" must be an object");
    if (!msg.contains("id"))
      return notification(req, msg, modern);
    if (!good_id(msg["id"]))
      return error_reply(400, json(), rpc::invalid_request,
                         "\"id\" must be a string or an integer (not null)");
    return modern ? handle_modern(req, msg) : handle_legacy(req, msg);
  } catch (const std::exception& e) {
    return error_reply(500, json(), rpc::internal_error,
                       std::string{"internal error: "} + e.what());
  }
}

mcp_response mcp_protocol::notification(const mcp_request& req, const json& msg, bool modern) {
  // 2025-11-25: notifications/cancelled stops a call of the same session; 2026-07-28 defines
  // no client notification over HTTP (closing the stream cancels), so it is accepted and
  // ignored, as every other notification is.
  if (!modern && msg["method"] == "notifications/cancelled") {
    auto session = req.header("mcp-session-id");
    const auto params = msg.value("params", json::object());
    if (session && params.contains("requestId"))
      cancel_call(session_call_key(*session, params["requestId"]));
  }
  return mcp_response{202, {}, "", {}};
}

mcp_response mcp_protocol::handle_modern(const mcp_request& req, const json& msg) {
  const auto& id = msg["id"];
  auto method = msg["method"].get<std::string>();
  auto params = msg.value("params", json::object());
  // basic/index § _meta: the per-request fields are required (-32602, 400); then the headers
  // must match the body (streamable-http § Server Validation: -32020, 400).
  auto meta = params.value("_meta", json::object());
  if (!meta.is_object() || !meta.contains(meta_version) || !meta.contains(meta_capabilities)
      || !meta[meta_capabilities].is_object())
    return error_reply(400, id, rpc::invalid_params,
                       std::string{"params._meta needs \""} + meta_version + "\" and \""
                         + meta_capabilities + "\"");
  if (!meta[meta_version].is_string())
    return error_reply(400, id, rpc::invalid_params,
                       std::string{"params._meta \""} + meta_version + "\" must be a string");
  auto body_version = meta[meta_version].get<std::string>();
  auto header_version = req.header("mcp-protocol-version").value_or("");
  if (header_version != body_version)
    return error_reply(400, id, rpc::header_mismatch,
                       "Header mismatch: MCP-Protocol-Version header value '" + header_version
                         + "' does not match body value '" + body_version + "'");
  auto header_method = req.header("mcp-method");
  if (!header_method || *header_method != method)
    return error_reply(400, id, rpc::header_mismatch,
                       "Header mismatch: Mcp-Method header value '" + header_method.value_or("")
                         + "' does not match body value '" + method + "'");
  // Mcp-Name: a tool call's name; the task methods' taskId (tasks extension § Routing Headers).
  bool task_method = method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel";
  const char* name_field = method == "tools/call" ? "name" : task_method ? "taskId" : nullptr;
  if (name_field != nullptr && params.contains(name_field)) {
    auto header_name = req.header("mcp-name");
    auto name = header_name ? decoded_name(*header_name) : std::nullopt;
    if (!name || !params[name_field].is_string() || *name != params[name_field].get<std::string>())
      return error_reply(400, id, rpc::header_mismatch,
                         "Header mismatch: Mcp-Name header value '" + header_name.value_or("")
                           + "' does not match body value '"
                           + params[name_field].dump(-1, ' ', false, json::error_handler_t::replace)
                           + "'");
  }
  if (body_version != modern_version)
    return error_reply(
      400, id, rpc::unsupported_version, "Unsupported protocol version",
      json{{"supported", {modern_version, legacy_version}}, {"requested", body_version}});
  // The tasks extension counts for this request when this request declares it (the extension
  // § Capability negotiation: never inferred from earlier requests).
  const auto& caps = meta[meta_capabilities];
  bool tasks_ext = caps.contains("extensions") && caps["extensions"].is_object()
                   && caps["extensions"].contains(ext_tasks);
  if (method == "server/discover")
    return result_reply(
      200, id,
      with_server_info(json{
        {"resultType", "complete"},
        {"supportedVersions", {modern_version}},
        {"capabilities",
         {{"tools", json::object()}, {"extensions", {{std::string{ext_tasks}, json::object()}}}}},
        {"ttlMs", options_.list_ttl.count()},
        {"cacheScope", "public"}}));
  if (method == "tools/list")
    return result_reply(200, id, with_server_info(tools_list(true)));
  if (method == "tools/call") {
    bool stream = lists(req.header("accept"), "text/event-stream");
    auto key = req.header("idempotency-key");
    return call_tool(id, params, true, stream, key ? "idempotency-key " + *key : std::string{},
                     tasks_ext);
  }
  if (task_method) {
    if (!tasks_ext)
      return error_reply(400, id, rpc::missing_capability, "Missing required client capability",
                         json{{"requiredCapabilities",
                               {{"extensions", {{std::string{ext_tasks}, json::object()}}}}}});
    return task_method_reply(method, id, params, true, false);
  }
  // streamable-http § Protocol Version Header: an unknown method is 404 with -32601.
  return error_reply(404, id, rpc::method_not_found, "Method not found: " + method);
}

mcp_response mcp_protocol::handle_legacy(const mcp_request& req, const json& msg) {
  const auto& id = msg["id"];
  auto method = msg["method"].get<std::string>();
  auto params = msg.value("params", json::object());
  if (method == "initialize") {
    // lifecycle § Version Negotiation: the same version when supported, else our latest.
    auto session = new_session();
    auto r = result_reply(200, id,
                          json{{"protocolVersion", legacy_version},
                               {"capabilities",
                                {{"tools", {{"listChanged", false}}},
                                 // No tasks/list: every caller holds the same token, so one
                                 // caller's tasks cannot be told from another's (tasks §
                                 // Security: then SHOULD NOT declare it).
                                 {"tasks",
                                  {{"cancel", json::object()},
                                   {"requests", {{"tools", {{"call", json::object()}}}}}}}}},
                               {"serverInfo", server_info()}});
    r.headers["Mcp-Session-Id"] = session;
    return r;
  }
  // transports § Session Management: a request without a session is 400, with one we do not
  // know (never made, ended, or forgotten) 404, after which the client initializes again.
  auto session = req.header("mcp-session-id");
  if (!session)
    return error_reply(400, id, rpc::invalid_request, "Bad Request: Missing session ID");
  if (!known_session(*session))
    return error_reply(404, id, rpc::invalid_request, "Session not found");
  // § Protocol Version Header: an invalid or unsupported version is 400. (Absent: assumed.)
  if (auto v = req.header("mcp-protocol-version"); v && *v != legacy_version)
    return error_reply(400, id, rpc::invalid_request,
                       "Unsupported MCP-Protocol-Version " + *v + ": this session speaks "
                         + std::string{legacy_version});
  if (method == "ping")
    return result_reply(200, id, json::object());
  if (method == "tools/list")
    return result_reply(200, id, tools_list(false));
  if (method == "tools/call") {
    bool stream = lists(req.header("accept"), "text/event-stream");
    bool as_task = params.contains("task") && params["task"].is_object();
    return call_tool(id, params, false, stream, session_call_key(*session, id), as_task);
  }
  if (method == "tasks/get" || method == "tasks/result" || method == "tasks/cancel")
    return task_method_reply(method, id, params, false,
                             lists(req.header("accept"), "text/event-stream"));
  return error_reply(200, id, rpc::method_not_found, "Method not found: " + method);
}

json mcp_protocol::tools_list(bool modern) const {
  json list = json::array();
  for (const auto& t : tools_.tools) {
    auto d = describe(t);
    if (!modern) // 2025-11-25 tools § Tool: execution.taskSupport
      d["execution"] = {{"taskSupport", to_string(t.tasks)}};
    list.push_back(std::move(d));
  }
  json result{{"tools", std::move(list)}};
  if (modern) {
    result["resultType"] = "complete";
    result["ttlMs"] = options_.list_ttl.count();
    result["cacheScope"] = "public";
  }
  return result;
}

json mcp_protocol::server_info() const {
  return json{{"name", options_.server_name}, {"version", options_.server_version}};
}

json mcp_protocol::with_server_info(json result) const {
  result["_meta"][meta_server_info] = server_info();
  return result;
}

std::string mcp_protocol::new_session() {
  // Visible ASCII, unguessable (transports § Session Management): 128 random bits in hex.
  auto id = orchestrator::random_hex(16);
  auto now = std::chrono::steady_clock::now();
  std::lock_guard guard{mtx_};
  std::erase_if(sessions_,
                [&](const auto& s) { return now - s.second.used >= options_.session_idle; });
  sessions_[id] = session{++session_counter_, now};
  while (sessions_.size() > options_.max_sessions) {
    auto oldest =
      std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
        return a.second.order < b.second.order;
      });
    sessions_.erase(oldest);
  }
  return id;
}

bool mcp_protocol::known_session(const std::string& id) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard guard{mtx_};
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    return false;
  if (now - it->second.used >= options_.session_idle) {
    sessions_.erase(it);
    return false;
  }
  it->second.used = now;
  return true;
}

void mcp_protocol::end_session(const std::string& id) {
  std::lock_guard guard{mtx_};
  sessions_.erase(id);
}

} // namespace smith::services::gateway
