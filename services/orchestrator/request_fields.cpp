#include "services/orchestrator/request_fields.hpp"

#include "transport/wire/base64.hpp"
#include "transport/wire/subjects.hpp"
#include "transport/wire/utf8.hpp"

#include <algorithm>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;

[[noreturn]] void fail(const tp::error& e, const std::string& what) {
  if (e.retryable() || e.code() == tp::errc::closed)
    throw api_error(503, "unavailable", what + ": " + e.message() + ". Hint: is NATS reachable?");
  // The server refused what the request asked for (a schedule it cannot parse): the client's
  // to change, and nothing was stored.
  if (e.code() == tp::errc::invalid_argument)
    throw api_error(400, "invalid_field", what + ": " + e.message());
  throw api_error(500, "internal", what + ": " + e.message());
}

void must(const tp::expected<void>& r, const std::string& what) {
  if (!r)
    fail(r.error(), what);
}

std::string field_string(const json& req, const char* key) {
  if (!req.contains(key))
    throw api_error(400, "missing_field", std::string{"field `"} + key + "` is required");
  if (!req[key].is_string())
    throw api_error(400, "invalid_field", std::string{"field `"} + key + "` must be a string");
  return req[key].get<std::string>();
}

std::optional<std::int64_t> field_int(const json& req, const char* key) {
  if (!req.contains(key) || req[key].is_null())
    return std::nullopt;
  if (!req[key].is_number_integer())
    throw api_error(400, "invalid_field", std::string{"field `"} + key + "` must be an integer");
  return req[key].get<std::int64_t>();
}

void check_token(const std::string& value, const char* what) {
  // '"' and '\\' are legal in a subject, but nats.c writes subjects into the JSON of JetStream
  // API requests (purge, next by subject) unescaped: with them a delayed task could not be
  // cancelled, nor a schedule shown or deleted (500s). A '/' is legal too, but a path is
  // decoded before it is routed: /v1/tasks/a%2Fb could never name the task "a/b". The value
  // is quoted as JSON in the detail: a control byte (a path's %00) would otherwise end it there.
  if (!tp::wire::is_subject_token(value) || value.size() > 1024
      || value.find_first_of("\"\\/") != std::string::npos)
    throw api_error(400, "invalid_field",
                    std::string{what} + " " + json_text(value)
                      + " must be 1 to 1024 bytes without '.', '*', '>', '\"', '\\', '/', "
                        "whitespace or controls");
}

std::string json_text(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void put_bytes(json& out, const char* key, const std::string& bytes) {
  if (tp::wire::is_utf8(bytes))
    out[key] = bytes;
  else
    out[std::string{key} + "_base64"] = tp::wire::base64_encode(bytes);
}

} // namespace smith::services::orchestrator
