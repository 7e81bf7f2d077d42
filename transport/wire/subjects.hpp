// Subject and stream names, derived from one configurable prefix (default "smith").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smith::transport::wire {

/// Returns whether `token` can stand as one subject token: non-empty, no '.', '*', '>' or
/// whitespace. Roles, types and task ids must pass this.
bool is_subject_token(std::string_view token) noexcept;

/// The parts of a task subject, <prefix>.task.<role>.<type>.<id> (wire version 2).
struct task_address {
  std::string role;
  std::string type;
  std::string id;
};

/// Names every subject and stream of one deployment. A different prefix is a separate tenant:
/// "acme" gives acme.task.<role>.<type>.<id> and the stream ACME_TASKS.
class subjects {
public:
  explicit subjects(std::string prefix = "smith");

  const std::string& prefix() const noexcept {
    return prefix_;
  }

  // -- subjects ---------------------------------------------------------------------------------

  /// <prefix>.task.<role>.<type>.<id>
  std::string task(std::string_view role, std::string_view type, std::string_view id) const;
  std::string task_of(std::string_view id) const;       ///< <prefix>.task.*.*.<id>
  std::string task_filter(std::string_view role) const; ///< <prefix>.task.<role>.>
  std::string all_tasks() const;                        ///< <prefix>.task.>
  /// Where a delayed task waits for its time (a message schedule in the tasks stream):
  /// <prefix>.schedule.<role>.<type>.<id>
  std::string schedule(std::string_view role, std::string_view type, std::string_view id) const;
  std::string schedule_of(std::string_view id) const; ///< <prefix>.schedule.*.*.<id>
  std::string all_schedules() const;                  ///< <prefix>.schedule.>
  /// A recurring schedule (@every, cron) named `name`, firing tasks of `role` and `type`:
  /// <prefix>.recurring.<role>.<type>.<name>
  std::string recurring(std::string_view role, std::string_view type, std::string_view name) const;
  std::string recurring_of(std::string_view name) const; ///< <prefix>.recurring.*.*.<name>
  std::string all_recurring() const;                     ///< <prefix>.recurring.>
  /// The firings of a recurring schedule, newest last: <prefix>.fired.<role>.<name>
  std::string fired(std::string_view role, std::string_view name) const;
  std::string fired_of(std::string_view name) const; ///< <prefix>.fired.*.<name>
  std::string all_fired() const;                     ///< <prefix>.fired.>
  /// The parts of a version 2 task subject of this prefix; nullopt for any other subject.
  std::optional<task_address> parse_task(std::string_view subject) const;
  /// The parts of a schedule subject of this prefix; nullopt for any other subject.
  std::optional<task_address> parse_schedule(std::string_view subject) const;
  /// The parts of a recurring schedule's subject (`id` is its name); nullopt otherwise.
  std::optional<task_address> parse_recurring(std::string_view subject) const;
  std::string result(std::string_view role, std::string_view task_id) const;
  std::string result_of(std::string_view task_id) const; ///< <prefix>.result.*.<id>
  std::string role_results(std::string_view role) const; ///< <prefix>.result.<role>.>
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
  std::string firings_stream() const;                 ///< SMITH_FIRINGS
  static std::string consumer(std::string_view role); ///< role-<role>
  static std::string dead_letter_consumer();          ///< dead-letter-mover

private:
  std::optional<task_address> parse(std::string_view subject, std::string_view kind) const;

  std::string prefix_;
  std::string stream_prefix_;
};

} // namespace smith::transport::wire
