// Schedule create's checks, in the order a client meets them: whether schedules can be held,
// name, role, type, every or cron, time zone, payload and meta.
#include "services/orchestrator/schedule_request.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "services/orchestrator/submit_request.hpp"
#include "transport/topology.hpp"

#include <cctype>
#include <limits>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;

namespace {

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
    // Nine digits of hours are about 3.6e15 ms: a few thousand of them would overflow the sum.
    if (total_ms > std::numeric_limits<std::int64_t>::max() - n * unit)
      throw api_error(400, "invalid_field", "field `every`: \"" + text + "\" is too long");
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

} // namespace

schedule_request parse_schedule_request(const json& req, const tp::topology_config& topo,
                                        std::int64_t now_ms) {
  if (!req.is_object())
    throw api_error(400, "invalid_json", "the request body must be a JSON object");
  if (!tp::has_schedules(topo))
    throw api_error(409, "schedules_unavailable",
                    "schedules are message schedules of the tasks stream, which nats-server "
                    "refuses on a stream capped by SMITH_MAX_TASKS (set to "
                      + std::to_string(topo.max_tasks) + "). Hint: unset SMITH_MAX_TASKS");
  schedule_request out;
  auto& t = out.task;
  t.id = field_string(req, "name");
  check_token(t.id, "name");
  if (t.id.size() > 1000)
    throw api_error(400, "invalid_field", "field `name` is longer than 1000 bytes");
  out.role = field_string(req, "role");
  check_token(out.role, "role");
  check_known_role(out.role, topo.roles);
  t.type = field_string(req, "type");
  check_token(t.type, "type");
  bool every = req.contains("every") && !req["every"].is_null();
  bool cron = req.contains("cron") && !req["cron"].is_null();
  if (every == cron)
    throw api_error(400, "invalid_field", "give `every` (e.g. \"5m\") or `cron`, one of them");
  out.when = every ? every_of(field_string(req, "every")) : cron_of(field_string(req, "cron"));
  if (req.contains("time_zone") && !req["time_zone"].is_null()) {
    if (!cron)
      throw api_error(400, "invalid_field", "field `time_zone` goes with `cron` only");
    out.time_zone = field_string(req, "time_zone");
    check_time_zone(out.time_zone);
  }
  t.payload = request_payload(req, topo.max_msg_bytes);
  t.meta = request_meta(req);
  t.created_ms = now_ms;
  return out;
}

} // namespace smith::services::orchestrator
