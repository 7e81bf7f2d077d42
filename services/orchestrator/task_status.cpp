// Status: a final result, a queued message, or what the tracker knows of a running task.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "transport/clock.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;
using std::chrono::milliseconds;

std::optional<json> task_service::final_state(const std::string& id) {
  auto last = must(tp::last_message(*conn_, names_.results_stream(), names_.result(id)),
                   "read the result of " + id);
  if (!last)
    return std::nullopt;
  auto r = tp::wire::decode_result(last->data);
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

std::optional<task_service::queued> task_service::find_queued(const std::string& id) {
  auto tasks = names_.tasks_stream();
  auto filter = names_.all_tasks();
  auto prefix_len = filter.size() - 1; // "<prefix>.task."
  std::uint64_t from = 1;
  std::map<std::string, std::uint64_t> delivered; // role → consumer's delivered stream seq
  for (std::size_t n = 0; n < max_scan; ++n) {
    auto m = must(tp::next_message(*conn_, tasks, from, filter), "read the queue");
    if (!m)
      return std::nullopt;
    from = m->sequence + 1;
    // A requeued task carries <id>-requeue-<dead-letter seq> (docs/WIRE.md §2).
    auto msg_id = m->header(tp::wire::headers::msg_id);
    if (!msg_id || !msg_id->starts_with(id)
        || (msg_id->size() != id.size() && !msg_id->substr(id.size()).starts_with("-requeue-")))
      continue;
    queued q;
    q.seq = m->sequence;
    std::tie(q.role, q.type) = role_type(m->subject, prefix_len);
    q.stored_ms = m->time_ms;
    if (!delivered.contains(q.role)) {
      auto info = tp::consumer_info(*conn_, tasks, tp::wire::subjects::consumer(q.role));
      delivered[q.role] = info ? info->delivered_stream_seq : 0;
    }
    q.delivered = delivered[q.role] >= q.seq;
    return q;
  }
  return std::nullopt;
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
  if (auto q = find_queued(id))
    return {{"id", id},
            {"state", q->delivered ? "running" : "queued"},
            {"role", q->role},
            {"type", q->type},
            {"stream_seq", q->seq},
            {"queued_ms", q->stored_ms}};
  // It may have finished between the two reads.
  if (auto done = final_state(id))
    return *done;
  throw api_error(404, "not_found",
                  "no task \"" + id
                    + "\": not queued, not running, and no result (results are "
                      "kept for SMITH_RESULTS_MAX_AGE)");
}

} // namespace smith::services::orchestrator
