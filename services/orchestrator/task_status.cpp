// Status: a final result, a queued message, or what the tracker knows of a running task.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "transport/clock.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"
#include "transport/wire/trace_context.hpp"

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;
using std::chrono::milliseconds;

std::optional<json> task_service::final_state(const std::string& id) {
  // Whatever its role: one direct get of the last message on <prefix>.result.*.<id>.
  auto last = must(tp::last_message(*conn_, names_.results_stream(), names_.result_of(id)),
                   "read the result of " + id);
  if (!last)
    return std::nullopt;
  auto out = finished_json(id, last->data);
  put_trace_id(out, *last);
  return out;
}

void put_trace_id(json& doc, const tp::stored_message& m) {
  auto header = m.header(tp::wire::headers::traceparent);
  if (!header)
    return;
  if (auto id = tp::wire::trace_id_of(*header))
    doc["trace_id"] = std::string{*id};
}

json finished_json(const std::string& id, std::string_view body) {
  auto r = tp::wire::decode_result(body);
  if (!r)
    return json{
      {"id", id}, {"state", "failed"}, {"error", "unreadable result: " + r.error().message()}};
  json out{{"id", id},
           {"state", state_of(*r)},
           {"attempts", r->attempts},
           {"worker", r->worker},
           {"started_ms", r->started_ms},
           {"finished_ms", r->finished_ms}};
  put_bytes(out, "output", r->output);
  if (r->error)
    out["error"] = *r->error;
  return out;
}

namespace {

// The last message on `filter` in the tasks stream and the role, type and id its subject names:
// one direct get, whatever the queue depth (the id is the subject's last token).
std::optional<std::pair<tp::stored_message, tp::wire::task_address>>
last_task(const tp::connection& conn, const tp::wire::subjects& names, const std::string& filter,
          bool schedule) {
  auto m = must(tp::last_message(conn, names.tasks_stream(), filter), "read the queue");
  if (!m)
    return std::nullopt;
  auto addr = schedule ? names.parse_schedule(m->subject) : names.parse_task(m->subject);
  if (!addr)
    return std::nullopt;
  return std::pair{std::move(*m), std::move(*addr)};
}

} // namespace

std::optional<task_service::queued> task_service::find_queued(const std::string& id) {
  auto found = last_task(*conn_, names_, names_.task_of(id), false);
  if (!found)
    return std::nullopt;
  auto& [m, addr] = *found;
  queued q;
  q.seq = m.sequence;
  q.role = addr.role;
  q.type = addr.type;
  q.stored_ms = m.time_ms;
  put_trace_id(q.trace, m);
  auto info =
    tp::consumer_info(*conn_, names_.tasks_stream(), tp::wire::subjects::consumer(q.role));
  q.delivered = info && info->delivered_stream_seq >= q.seq;
  return q;
}

std::optional<task_service::scheduled> task_service::find_scheduled(const std::string& id) {
  auto found = last_task(*conn_, names_, names_.schedule_of(id), true);
  if (!found)
    return std::nullopt;
  auto& [m, addr] = *found;
  scheduled s;
  s.seq = m.sequence;
  s.role = addr.role;
  s.type = addr.type;
  s.subject = m.subject;
  put_trace_id(s.trace, m);
  auto when = m.header(tp::wire::headers::schedule).value_or("");
  if (when.starts_with("@at "))
    when.remove_prefix(4);
  s.due = std::string{when};
  s.due_ms = tp::parse_rfc3339_ms(when);
  return s;
}

json task_service::status(const std::string& id) {
  check_token(id, "task id");
  if (auto done = final_state(id))
    return *done;
  if (tracker_ != nullptr)
    if (auto live = tracker_->find(id)) {
      json out{{"id", id},
               {"state", "running"},
               {"role", live->role},
               {"type", live->type},
               {"worker", live->worker},
               {"attempts", live->attempt},
               {"started_ms", live->started_ms}};
      if (live->percent)
        out["progress"] = {{"percent", *live->percent}, {"message", live->message}};
      return out;
    }
  if (auto sched = find_scheduled(id)) {
    json out{{"id", id},
             {"state", "scheduled"},
             {"role", sched->role},
             {"type", sched->type},
             {"stream_seq", sched->seq},
             {"due", sched->due}};
    if (sched->due_ms)
      out["due_ms"] = *sched->due_ms;
    out.update(sched->trace);
    return out;
  }
  if (auto q = find_queued(id)) {
    json out{{"id", id},
             {"state", q->delivered ? "running" : "queued"},
             {"role", q->role},
             {"type", q->type},
             {"stream_seq", q->seq},
             {"queued_ms", q->stored_ms}};
    out.update(q->trace);
    return out;
  }
  // It may have finished between the two reads.
  if (auto done = final_state(id))
    return *done;
  throw api_error(404, "not_found",
                  "no task \"" + id
                    + "\": not queued, not running, and no result (results are "
                      "kept for SMITH_RESULTS_MAX_AGE)");
}

} // namespace smith::services::orchestrator
