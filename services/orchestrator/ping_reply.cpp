#include "services/orchestrator/ping_reply.hpp"

#include <nlohmann/json.hpp>

namespace smith::services::orchestrator {

std::optional<std::string> ping_reply_role(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object())
    return std::nullopt;
  // Not doc.value("role", ""): it throws when the role is there but not a string.
  auto role = doc.find("role");
  if (role == doc.end() || !role->is_string())
    return std::nullopt;
  return role->get<std::string>();
}

} // namespace smith::services::orchestrator
