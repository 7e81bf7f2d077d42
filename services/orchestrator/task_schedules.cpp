// Recurring schedules: a message schedule (@every, cron) in the tasks stream that the server
// fires, each firing a task of its own (docs/WIRE.md §2.3). No process of ours has to run for it
// to fire, and however many orchestrators there are, the server fires it once.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "services/orchestrator/schedule_request.hpp"
#include "transport/clock.hpp"
#include "transport/publisher.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;

namespace {

constexpr std::size_t max_schedules = 10'000;

json describe(const tp::stored_message& m, const tp::wire::task_address& addr) {
  json out{{"name", addr.id},
           {"role", addr.role},
           {"type", addr.type},
           {"schedule", std::string{m.header(tp::wire::headers::schedule).value_or("")}},
           {"created_ms", m.time_ms},
           {"stream_seq", m.sequence}};
  if (auto tz = m.header(tp::wire::headers::schedule_time_zone))
    out["time_zone"] = std::string{*tz};
  return out;
}

} // namespace

std::optional<json> task_service::find_recurring(const std::string& name) {
  auto m = must(tp::last_message(*conn_, names_.tasks_stream(), names_.recurring_of(name)),
                "read the schedules");
  if (!m)
    return std::nullopt;
  auto addr = names_.parse_recurring(m->subject);
  if (!addr)
    return std::nullopt;
  return describe(*m, *addr);
}

json task_service::schedule_create(const json& req) {
  std::optional<tp::topology_config> learned;
  auto checked = parse_schedule_request(req, topology_for(req, learned), tp::unix_ms());
  const auto& t = checked.task;
  const auto& name = t.id;
  const auto& role = checked.role;
  const auto& when = checked.when;
  const auto& tz = checked.time_zone;
  auto existing = find_recurring(name);
  if (existing && ((*existing)["role"] != role || (*existing)["type"] != t.type))
    throw api_error(409, "schedule_exists",
                    "schedule \"" + name + "\" exists for role "
                      + (*existing)["role"].get<std::string>() + " and type "
                      + (*existing)["type"].get<std::string>() + ". Hint: delete it first");
  tp::outgoing out;
  out.subject = names_.recurring(role, t.type, name);
  out.body = tp::wire::encode(t);
  out.headers.emplace_back(tp::wire::headers::schedule, when);
  out.headers.emplace_back(tp::wire::headers::schedule_target, names_.task(role, t.type, name));
  out.headers.emplace_back(tp::wire::headers::type, t.type);
  if (!tz.empty())
    out.headers.emplace_back(tp::wire::headers::schedule_time_zone, tz);
  // No Nats-Msg-Id: a changed schedule under the same name replaces the old one (the server
  // rolls the schedule's subject up), and dedup would drop the change.
  auto ack = publish_for_request(out, name, "create it again; that replaces it, never adds one");
  if (!ack) {
    if (ack.error().code() == tp::errc::invalid_argument)
      throw api_error(400, "invalid_field",
                      "the server refused the schedule: " + ack.error().message());
    fail(ack.error(), "store the schedule");
  }
  json r{{"name", name},
         {"role", role},
         {"type", t.type},
         {"schedule", when},
         {"replaced", existing.has_value()},
         {"stream_seq", ack->sequence}};
  if (!tz.empty())
    r["time_zone"] = tz;
  return r;
}

json task_service::schedule_list() {
  json list = json::array();
  std::uint64_t from = 1;
  auto filter = names_.all_recurring();
  while (list.size() < max_schedules) {
    auto m =
      must(tp::next_message(*conn_, names_.tasks_stream(), from, filter), "read the schedules");
    if (!m)
      break;
    from = m->sequence + 1;
    if (auto addr = names_.parse_recurring(m->subject))
      list.push_back(describe(*m, *addr));
  }
  return {{"schedules", list}};
}

json task_service::schedule_show(const std::string& name) {
  check_token(name, "schedule name");
  auto out = find_recurring(name);
  if (!out)
    throw api_error(404, "not_found", "no schedule \"" + name + "\"");
  // The server keeps the newest ten firings of each schedule: oldest first here.
  json last = json::array();
  std::string next;
  std::uint64_t from = 1;
  auto filter = names_.fired_of(name);
  for (int i = 0; i < 10; ++i) {
    auto m = must(tp::next_message(*conn_, names_.firings_stream(), from, filter),
                  "read the firings of " + name);
    if (!m)
      break;
    from = m->sequence + 1;
    auto rec = json::parse(m->data, nullptr, false);
    if (!rec.is_object() || !rec.contains("id") || !rec["id"].is_string())
      continue;
    auto id = rec["id"].get<std::string>();
    std::string state = "queued";
    if (auto done = final_state(id))
      state = (*done)["state"].get<std::string>();
    else if (tracker_ != nullptr && tracker_->find(id))
      state = "running";
    last.push_back(
      {{"id", id}, {"fired_ms", rec.value("fired_ms", std::int64_t{0})}, {"state", state}});
    next = rec.value("next", std::string{});
  }
  (*out)["last_tasks"] = last;
  // The server says, at each firing, when the next one is due.
  if (auto due = tp::parse_rfc3339_ms(next))
    (*out)["next_due_ms"] = *due;
  if (!next.empty() && next != "purge")
    (*out)["next_due"] = next;
  return *out;
}

json task_service::schedule_delete(const std::string& name) {
  check_token(name, "schedule name");
  auto found = find_recurring(name);
  if (!found)
    throw api_error(404, "not_found", "no schedule \"" + name + "\"");
  auto subject = names_.recurring((*found)["role"].get<std::string>(),
                                  (*found)["type"].get<std::string>(), name);
  must(tp::purge_subject(*conn_, names_.tasks_stream(), subject), "delete schedule " + name);
  return {{"name", name}, {"deleted", true}};
}

} // namespace smith::services::orchestrator
