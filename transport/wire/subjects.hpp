// Subject and stream names, derived from one configurable prefix (default "smith").
#pragma once

#include <string>
#include <string_view>

namespace smith::transport::wire {

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
  std::string all_events() const;                     ///< <prefix>.event.>
  std::string cancel(std::string_view task_id) const; ///< <prefix>.cancel.<id> (core NATS)
  std::string all_cancels() const;                    ///< <prefix>.cancel.>
  std::string worker_ping() const;                    ///< <prefix>.ping.workers: workers answer
  /// The server's advisories for tasks that used up MaxDeliver, of every role.
  std::string max_deliveries_advisories() const;

  // -- streams and consumers --------------------------------------------------------------------

  std::string tasks_stream() const;                   ///< SMITH_TASKS
  std::string results_stream() const;                 ///< SMITH_RESULTS
  std::string dlq_stream() const;                     ///< SMITH_DLQ
  std::string advisories_stream() const;              ///< SMITH_ADVISORIES
  static std::string consumer(std::string_view role); ///< role-<role>
  static std::string dead_letter_consumer();          ///< dead-letter-mover

private:
  std::string prefix_;
  std::string stream_prefix_;
};

} // namespace smith::transport::wire
