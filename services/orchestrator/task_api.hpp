// The orchestrator's HTTP API under /v1/ (docs/API.md): routing, the bearer token, and the
// mapping of task_service results and api_errors onto status codes and JSON bodies.
#pragma once

#include "services/common/http_server.hpp"
#include "services/orchestrator/task_service.hpp"
#include "transport/logging/logger.hpp"

#include <string>

namespace smith::services::orchestrator {

/// Answers one /v1/ request. With a non-empty `token`, every request must carry
/// `Authorization: Bearer <token>` (compared in constant time). Never throws.
///
/// Each change a request makes (cancel, dead-letter requeue, dead-letter delete) is logged as
/// an audit line (INFO, "msg":"audit", "action", "who", the ids and sequences it touched).
/// "who" is `token:` and the first 8 hex digits of the token's SHA-256 (never the token), or
/// `anonymous` when the API runs without a token.
common::http_reply serve_api(task_service& service, const std::string& token,
                             const common::http_request& req);

/// Answers one /v1/ request made in-process by the user of this machine (the CLI without
/// --api): no token is asked for; audit lines say "who":"local" and go to `audit_log`.
common::http_reply serve_local(task_service& service, const common::http_request& req,
                               transport::logging::logger& audit_log);

} // namespace smith::services::orchestrator
