#include "transport/wire/subjects.hpp"

#include <cctype>

namespace smith::transport::wire {

bool is_subject_token(std::string_view token) noexcept {
  if (token.empty())
    return false;
  for (char c : token) {
    auto u = static_cast<unsigned char>(c);
    if (c == '.' || c == '*' || c == '>' || std::isspace(u) || std::iscntrl(u))
      return false;
  }
  return true;
}

subjects::subjects(std::string prefix) : prefix_(std::move(prefix)) {
  for (char c : prefix_) {
    auto u = static_cast<unsigned char>(c);
    stream_prefix_ += std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_';
  }
}

namespace {

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts) {
    if (!out.empty())
      out += '.';
    out += part;
  }
  return out;
}

} // namespace

std::string subjects::task(std::string_view role, std::string_view type,
                           std::string_view id) const {
  return join({prefix_, "task", role, type, id});
}

std::string subjects::task_of(std::string_view id) const {
  return join({prefix_, "task", "*", "*", id});
}

std::string subjects::schedule(std::string_view role, std::string_view type,
                               std::string_view id) const {
  return join({prefix_, "schedule", role, type, id});
}

std::string subjects::schedule_of(std::string_view id) const {
  return join({prefix_, "schedule", "*", "*", id});
}

std::string subjects::all_schedules() const {
  return join({prefix_, "schedule", ">"});
}

std::string subjects::recurring(std::string_view role, std::string_view type,
                                std::string_view name) const {
  return join({prefix_, "recurring", role, type, name});
}

std::string subjects::recurring_of(std::string_view name) const {
  return join({prefix_, "recurring", "*", "*", name});
}

std::string subjects::all_recurring() const {
  return join({prefix_, "recurring", ">"});
}

std::string subjects::fired(std::string_view role, std::string_view name) const {
  return join({prefix_, "fired", role, name});
}

std::string subjects::fired_of(std::string_view name) const {
  return join({prefix_, "fired", "*", name});
}

std::string subjects::all_fired() const {
  return join({prefix_, "fired", ">"});
}

std::string subjects::firings_stream() const {
  return stream_prefix_ + "_FIRINGS";
}

std::optional<task_address> subjects::parse_recurring(std::string_view subject) const {
  return parse(subject, "recurring");
}

std::optional<task_address> subjects::parse_task(std::string_view subject) const {
  return parse(subject, "task");
}

std::optional<task_address> subjects::parse_schedule(std::string_view subject) const {
  return parse(subject, "schedule");
}

std::optional<task_address> subjects::parse(std::string_view subject, std::string_view kind) const {
  auto head = join({prefix_, kind, ""});
  if (!subject.starts_with(head))
    return std::nullopt;
  subject.remove_prefix(head.size());
  task_address out;
  std::string* parts[] = {&out.role, &out.type, &out.id};
  for (std::size_t i = 0; i < 3; ++i) {
    auto dot = subject.find('.');
    if ((i < 2) != (dot != std::string_view::npos))
      return std::nullopt; // too few tokens, or too many
    auto token = subject.substr(0, dot);
    if (!is_subject_token(token))
      return std::nullopt;
    *parts[i] = std::string{token};
    subject = i < 2 ? subject.substr(dot + 1) : std::string_view{};
  }
  return out;
}

std::string subjects::task_filter(std::string_view role) const {
  return join({prefix_, "task", role, ">"});
}

std::string subjects::all_tasks() const {
  return join({prefix_, "task", ">"});
}

std::string subjects::result(std::string_view role, std::string_view task_id) const {
  return join({prefix_, "result", role, task_id});
}

std::string subjects::result_of(std::string_view task_id) const {
  return join({prefix_, "result", "*", task_id});
}

std::string subjects::role_results(std::string_view role) const {
  return join({prefix_, "result", role, ">"});
}

std::string subjects::all_results() const {
  return join({prefix_, "result", ">"});
}

std::string subjects::event(std::string_view task_id) const {
  return join({prefix_, "event", task_id});
}

std::string subjects::dlq(std::string_view role, std::string_view type) const {
  return join({prefix_, "dlq", role, type});
}

std::string subjects::all_dlq() const {
  return join({prefix_, "dlq", ">"});
}

std::string subjects::all_events() const {
  return join({prefix_, "event", ">"});
}

std::string subjects::cancel(std::string_view task_id) const {
  return join({prefix_, "cancel", task_id});
}

std::string subjects::all_cancels() const {
  return join({prefix_, "cancel", ">"});
}

std::string subjects::worker_ping() const {
  return join({prefix_, "ping", "workers"});
}

std::string subjects::max_deliveries_advisories() const {
  return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + tasks_stream() + ".*";
}

std::string subjects::advisories_stream() const {
  return stream_prefix_ + "_ADVISORIES";
}

std::string subjects::dead_letter_consumer() {
  return "dead-letter-mover";
}

std::string subjects::tasks_stream() const {
  return stream_prefix_ + "_TASKS";
}

std::string subjects::results_stream() const {
  return stream_prefix_ + "_RESULTS";
}

std::string subjects::dlq_stream() const {
  return stream_prefix_ + "_DLQ";
}

std::string subjects::consumer(std::string_view role) {
  std::string out{"role-"};
  out += role;
  return out;
}

} // namespace smith::transport::wire
