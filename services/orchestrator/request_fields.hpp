// Reading the fields of an API request and writing bytes into an answer, with the errors a
// client sees (api_error 400); transport failures as API errors (503 or 500).
#pragma once

#include "services/orchestrator/api_error.hpp"
#include "transport/expected.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace smith::services::orchestrator {

/// How long an API operation waits for NATS.
inline constexpr std::chrono::milliseconds api_timeout{5000};
/// How long a worker that was running a cancelled task has to store its "cancelled" result
/// before the orchestrator stores one (cancel_finisher).
inline constexpr std::chrono::milliseconds cancel_grace{10000};

/// A transport failure as the API reports it: retryable trouble is 503, the rest 500.
[[noreturn]] void fail(const transport::error& e, const std::string& what);

template <class T>
T must(transport::expected<T> r, const std::string& what) {
  if (!r)
    fail(r.error(), what);
  return std::move(*r);
}

void must(const transport::expected<void>& r, const std::string& what);

/// A required string field.
std::string field_string(const nlohmann::json& req, const char* key);

/// An optional integer field.
std::optional<std::int64_t> field_int(const nlohmann::json& req, const char* key);

/// One subject token (a role, a type, an id): 1 to 1024 bytes without '.', '*', '>', space.
void check_token(const std::string& value, const char* what);

/// Compact JSON, with bytes that are not UTF-8 written as U+FFFD (dump() would throw on them):
/// a path is decoded before it is routed, so a segment such as %FF reaches ids and details.
std::string json_text(const nlohmann::json& value);

/// Output bytes as JSON: a string when they are text, else base64 under `<key>_base64`.
void put_bytes(nlohmann::json& out, const char* key, const std::string& bytes);

} // namespace smith::services::orchestrator
