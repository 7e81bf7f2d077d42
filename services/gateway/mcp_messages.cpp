#include "services/gateway/mcp_messages.hpp"

namespace smith::services::gateway::mcp_messages {

using json = nlohmann::json;

bool good_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

json id_of(const json& msg) {
  if (msg.is_object() && msg.contains("id") && good_id(msg["id"]))
    return msg["id"];
  return nullptr;
}

json error_message(const json& id, int code, const std::string& message, const json& data) {
  json error{{"code", code}, {"message", message}};
  if (!data.is_null())
    error["data"] = data;
  json msg{{"jsonrpc", "2.0"}};
  if (!id.is_null())
    msg["id"] = id;
  msg["error"] = std::move(error);
  return msg;
}

json result_message(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

std::string text_of(const json& message) {
  return message.dump(-1, ' ', false, json::error_handler_t::replace);
}

mcp_response error_reply(int status, const json& id, int code, const std::string& message,
                         const json& data) {
  return mcp_response{status, {}, text_of(error_message(id, code, message, data)), {}};
}

mcp_response result_reply(int status, const json& id, json result) {
  return mcp_response{status, {}, text_of(result_message(id, std::move(result))), {}};
}

} // namespace smith::services::gateway::mcp_messages
