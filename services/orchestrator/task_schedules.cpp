// Recurring schedules: a message schedule (@every, cron) in the tasks stream that the server
// fires, each firing a task of its own (docs/WIRE.md §2.3). No process of ours has to run for it
// to fire, and however many orchestrators there are, the server fires it once.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "transport/clock.hpp"
#include "transport/publisher.hpp"
#include "transport/stream_reader.hpp"
#include "transport/topology.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"

#include <cctype>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;

namespace {

constexpr std::size_t max_schedules = 10'000;

// A Go duration as the server's @every takes it ("90s", "5m", "1h30m"), of at least a second.
std::string every_of(const std::string& text) {
  std::int64_t total_ms = 0;
  std::size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0; ++i) {
      if (++digits > 9)
        throw api_error(400, "invalid_field", "field `every`: \"" + text + "\" is too long");
      n = n * 10 + (text[i] - '0');
    }
    std::int64_t unit = 0;
    if (text.compare(i, 2, "ms") == 0)
      unit = 1, i += 2;
    else if (i < text.size() && text[i] == 's')
      unit = 1000, ++i;
    else if (i < text.size() && text[i] == 'm')
      unit = 60'000, ++i;
    else if (i < text.size() && text[i] == 'h')
      unit = 3'600'000, ++i;
    if (digits == 0 || unit == 0)
      throw api_error(400, "invalid_field",
                      "field `every`: \"" + text + "\" is not a duration such as 30s, 5m or 1h30m");
    total_ms += n * unit;
    any = true;
  }
  if (!any || total_ms < 1000)
    throw api_error(400, "invalid_field",
                    "field `every`: \"" + text + "\" is shorter than the 1s a schedule can fire");
  return "@every " + text;
}

// Six fields, seconds first ("0 30 2 * * *": 02:30:00 every day); the server checks the rest.
std::string cron_of(const std::string& text) {
  std::size_t fields = 0;
  bool in_field = false;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == ' ') {
      in_field = false;
      continue;
    }
    if (std::isalnum(u) == 0 && c != '*' && c != '/' && c != ',' && c != '-' && c != '?')
      throw api_error(400, "invalid_field",
                      "field `cron`: \"" + text + "\" has a character a cron field cannot have");
    if (!in_field)
      ++fields;
    in_field = true;
  }
  if (fields != 6)
    throw api_error(400, "invalid_field",
                    "field `cron`: \"" + text
                      + "\" must have six fields, seconds first: \"0 30 2 * * *\" is 02:30:00 "
                        "every day");
  return text;
}

void check_time_zone(const std::string& tz) {
  if (tz.empty() || tz.size() > 64)
    throw api_error(400, "invalid_field",
                    "field `time_zone` must be an IANA name such as "
                    "Europe/Amsterdam");
  for (char c : tz)
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '/' && c != '_' && c != '-'
        && c != '+')
      throw api_error(400, "invalid_field",
                      "field `time_zone`: \"" + tz
                        + "\" is not an IANA name such as "
                          "Europe/Amsterdam");
}

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
  if (!req.is_object())
    throw api_error(400, "invalid_json", "the request body must be a JSON object");
  if (!tp::has_schedules(topo_))
    throw api_error(409, "schedules_unavailable",
                    "schedules are message schedules of the tasks stream, which nats-server "
                    "refuses on a stream capped by SMITH_MAX_TASKS (set to "
                      + std::to_string(topo_.max_tasks) + "). Hint: unset SMITH_MAX_TASKS");
  auto name = field_string(req, "name");
  check_token(name, "name");
  if (name.size() > 1000)
    throw api_error(400, "invalid_field", "field `name` is longer than 1000 bytes");
  auto role = field_string(req, "role");
  check_token(role, "role");
  check_role(role);
  tp::wire::task t;
  t.id = name;
  t.type = field_string(req, "type");
  check_token(t.type, "type");
  bool every = req.contains("every") && !req["every"].is_null();
  bool cron = req.contains("cron") && !req["cron"].is_null();
  if (every == cron)
    throw api_error(400, "invalid_field", "give `every` (e.g. \"5m\") or `cron`, one of them");
  auto when = every ? every_of(field_string(req, "every")) : cron_of(field_string(req, "cron"));
  std::string tz;
  if (req.contains("time_zone") && !req["time_zone"].is_null()) {
    if (!cron)
      throw api_error(400, "invalid_field", "field `time_zone` goes with `cron` only");
    tz = field_string(req, "time_zone");
    check_time_zone(tz);
  }
  t.payload = payload_of(req);
  t.meta = meta_of(req);
  t.created_ms = tp::unix_ms();
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
