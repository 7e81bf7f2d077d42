// The orchestrator's HTTP API under /v1/ (docs/API.md): routing, the bearer token, and the
// mapping of task_service results and api_errors onto status codes and JSON bodies.
#pragma once

#include "services/common/http_server.hpp"
#include "services/orchestrator/task_service.hpp"

#include <string>

namespace smith::services::orchestrator {

/// Answers one /v1/ request. With a non-empty `token`, every request must carry
/// `Authorization: Bearer <token>` (compared in constant time). Never throws.
common::http_reply serve_api(task_service& service, const std::string& token,
                             const common::http_request& req);

} // namespace smith::services::orchestrator
