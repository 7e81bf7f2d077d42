// The error every API operation and CLI command reports: an HTTP status, a short stable code
// and a detail for a person. The HTTP layer answers {error, detail} with the status; the CLI
// prints one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace smith::services::orchestrator {

class api_error : public std::runtime_error {
public:
  api_error(int status, std::string code, const std::string& detail)
    : std::runtime_error(detail), status_(status), code_(std::move(code)) {
  }

  int status() const noexcept {
    return status_;
  }

  /// e.g. "invalid_json", "unknown_role", "not_found", "unavailable"
  const std::string& code() const noexcept {
    return code_;
  }

private:
  int status_;
  std::string code_;
};

} // namespace smith::services::orchestrator
