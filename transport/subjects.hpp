// Subject and stream names, derived from one configurable prefix (default "smith").
#pragma once

#include <string>
#include <string_view>

namespace smith::transport {

/// Returns whether `token` can stand as one subject token: non-empty, no '.', '*', '>' or
/// whitespace. Roles, types and task ids must pass this.
bool is_subject_token(std::string_view token) noexcept;

/// Names every subject and stream of one deployment. A different prefix is a separate tenant:
/// "acme" gives acme.task.<role>.<type> and the stream ACME_TASKS.
class subjects {
public:
  explicit subjects(std::string prefix = "smith");

  const std::string& prefix() const noexcept {
    return prefix_;
  }

  // -- subjects ---------------------------------------------------------------------------------

  std::string task(std::string_view role, std::string_view type) const;
  std::string task_filter(std::string_view role) const; ///< <prefix>.task.<role>.>
  std::string all_tasks() const;                        ///< <prefix>.task.>
  std::string result(std::string_view task_id) const;
  std::string all_results() const;
  std::string event(std::string_view task_id) const;
  std::string dlq(std::string_view role, std::string_view type) const;
  std::string all_dlq() const;

  // -- streams and consumers --------------------------------------------------------------------

  std::string tasks_stream() const;                   ///< SMITH_TASKS
  std::string results_stream() const;                 ///< SMITH_RESULTS
  std::string dlq_stream() const;                     ///< SMITH_DLQ
  static std::string consumer(std::string_view role); ///< role-<role>

private:
  std::string prefix_;
  std::string stream_prefix_;
};

} // namespace smith::transport
