#include "services/orchestrator/ping_reply.hpp"

#include <nlohmann/json.hpp>

namespace smith::services::orchestrator {

namespace {

std::int64_t ping_count(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer())
    return 0;
  if (it->is_number_unsigned())
    return it->get<std::uint64_t>() <= INT32_MAX ? it->get<std::int64_t>() : 0;
  auto v = it->get<std::int64_t>();
  return v >= 0 && v <= INT32_MAX ? v : 0;
}

} // namespace

std::optional<ping_reply> parse_ping_reply(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object())
    return std::nullopt;
  // Not doc.value("role", ""): it throws when the role is there but not a string.
  auto role = doc.find("role");
  if (role == doc.end() || !role->is_string())
    return std::nullopt;
  ping_reply out;
  out.role = role->get<std::string>();
  if (auto w = doc.find("worker"); w != doc.end() && w->is_string())
    out.worker = w->get<std::string>();
  out.concurrency = ping_count(doc, "concurrency");
  out.in_flight = ping_count(doc, "in_flight");
  return out;
}

std::optional<std::string> ping_reply_role(std::string_view body) {
  auto r = parse_ping_reply(body);
  if (!r)
    return std::nullopt;
  return std::move(r->role);
}

} // namespace smith::services::orchestrator
