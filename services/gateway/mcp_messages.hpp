// The JSON-RPC 2.0 messages the gateway answers with, and the _meta keys of MCP 2026-07-28.
#pragma once

#include "services/gateway/mcp_protocol.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace smith::services::gateway::mcp_messages {

inline constexpr const char* meta_version = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* meta_capabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* meta_server_info = "io.modelcontextprotocol/serverInfo";
/// The tasks extension (2026-07-28), as servers and clients name it in their capabilities.
inline constexpr const char* ext_tasks = "io.modelcontextprotocol/tasks";
/// 2025-11-25 tasks § Related task: tasks/result names its task in its _meta.
inline constexpr const char* meta_related_task = "io.modelcontextprotocol/related-task";

/// A request id MCP accepts: a string or an integer, never null (basic/index § Requests).
bool good_id(const nlohmann::json& id);

/// The message's id when it is a good one, else null.
nlohmann::json id_of(const nlohmann::json& msg);

/// {"jsonrpc":"2.0","id":...,"error":{code,message[,data]}}; no "id" when `id` is null (an
/// error about a message whose id could not be read: MCP's error responses may omit it).
nlohmann::json error_message(const nlohmann::json& id, int code, const std::string& message,
                             const nlohmann::json& data = nullptr);

/// {"jsonrpc":"2.0","id":...,"result":...}
nlohmann::json result_message(const nlohmann::json& id, nlohmann::json result);

/// The message as JSON text: compact, non-UTF-8 bytes as U+FFFD (a task's output may hold any).
std::string text_of(const nlohmann::json& message);

mcp_response error_reply(int status, const nlohmann::json& id, int code, const std::string& message,
                         const nlohmann::json& data = nullptr);

mcp_response result_reply(int status, const nlohmann::json& id, nlohmann::json result);

} // namespace smith::services::gateway::mcp_messages
