// Who may call a service's API: its bearer token (from the environment or a file, as ECS and
// compose secrets arrive), and whether an address reaches beyond this machine.
#pragma once

#include "transport/logging/logger.hpp"

#include <string>

namespace smith::services::common {

/// SMITH_API_TOKEN, or what SMITH_API_TOKEN_FILE holds without its trailing line break; empty
/// when neither is set. Throws std::invalid_argument for both at once, an unreadable file, or a
/// token that is not 1 to 4096 printable ASCII characters without spaces.
std::string api_token();

/// Whether only this machine can reach `host`: 127.0.0.0/8, ::1 (or 127.x mapped into IPv6),
/// or the name localhost. Any other text, 0.0.0.0 and :: included, reaches further.
bool loopback_only(const std::string& host);

/// An API without a token is for this machine only: serving it on a wider `host` needs the
/// operator's word (`insecure`, then logged as a warning). Throws std::invalid_argument naming
/// the settings otherwise. `what` says what an anonymous caller could do.
void require_token_beyond_loopback(const std::string& host, const std::string& token, bool insecure,
                                   const std::string& what, transport::logging::logger& log);

/// Whether `authorization` (the header) is "Bearer <token>", compared in constant time.
bool bearer_matches(const std::string& authorization, const std::string& token);

} // namespace smith::services::common
