// The error every API operation and CLI command reports: an HTTP status, a short stable code
// and a detail for a person. The HTTP layer answers {error, detail} with the status; the CLI
// prints one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace smith::services::orchestrator {

class api_error : public std::runtime_error {
public:
  api_error(int status, std::string code, const std::string& detail, std::string task_id = {})
    : std::runtime_error(detail), status_(status), code_(std::move(code)),
      task_id_(std::move(task_id)) {
  }

  int status() const noexcept {
    return status_;
  }

  /// e.g. "invalid_json", "unknown_role", "not_found", "unavailable"
  const std::string& code() const noexcept {
    return code_;
  }

  /// The task the error is about, when the client needs its id to go on (`outcome_unknown`:
  /// retry with this id); empty otherwise.
  const std::string& task_id() const noexcept {
    return task_id_;
  }

  /// The methods the path serves ("GET, HEAD, DELETE"): the Allow header of a 405.
  const std::string& allow() const noexcept {
    return allow_;
  }

  api_error& allowing(std::string methods) {
    allow_ = std::move(methods);
    return *this;
  }

private:
  int status_;
  std::string code_;
  std::string task_id_;
  std::string allow_;
};

} // namespace smith::services::orchestrator
