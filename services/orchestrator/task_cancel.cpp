// Cancel: a queued task is deleted and gets a cancelled result; a running one is told.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "transport/clock.hpp"
#include "transport/stream_reader.hpp"
#include "transport/subscription.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;
using std::chrono::milliseconds;

tp::publish_ack task_service::store_result(const std::string& role, const tp::wire::result& r,
                                           std::uint64_t task_seq, const std::string& type) {
  auto out = tp::result_message(names_, role, r);
  if (!type.empty())
    out.headers.emplace_back(tp::wire::headers::type, type);
  out.msg_id = tp::result_msg_id(task_seq);
  return must(pub_->publish(out, api_timeout), "store the result of " + r.id);
}

tp::wire::result cancelled_result(const std::string& id) {
  tp::wire::result r;
  r.id = id;
  r.ok = false;
  r.error = "cancelled";
  r.status = "cancelled";
  r.worker = "orchestrator";
  r.started_ms = r.finished_ms = tp::unix_ms();
  return r;
}

json task_service::cancel(const std::string& id) {
  check_token(id, "task id");
  if (auto done = final_state(id))
    throw api_error(409, "already_finished",
                    "task \"" + id + "\" already ended: " + (*done)["state"].get<std::string>());
  // Tell the workers first: one that holds the task stops it, one that receives it later
  // never starts it.
  must(tp::publish_core(*conn_, names_.cancel(id), id), "send the cancel notice");
  must(conn_->flush(api_timeout), "send the cancel notice");
  // A delayed task still waiting in its schedule: the purge removes it before it is due. One
  // that fell due meanwhile is queued by now, and found below.
  auto sched = find_scheduled(id);
  if (sched)
    must(tp::purge_subject(*conn_, names_.tasks_stream(), sched->subject), "remove the schedule");
  auto q = find_queued(id);
  bool running = tracker_ != nullptr && tracker_->find(id).has_value();
  if (sched && !q && !running) {
    store_result(sched->role, cancelled_result(id), sched->seq, sched->type);
    return {{"id", id}, {"state", "cancelled"}};
  }
  if (!q && !running)
    throw api_error(404, "not_found", "no task \"" + id + "\" is scheduled, queued or running");
  if (q) {
    // Gone from the stream, it is never delivered (again).
    auto deleted =
      must(tp::delete_message(*conn_, names_.tasks_stream(), q->seq), "remove the task");
    if (deleted && running) {
      // Its worker was told above and stores its own "cancelled" result; unless it was only
      // waiting out a retry backoff, when nobody will: the finisher stores it after a grace.
      finisher_->add(id, q->role, q->seq);
    } else if (deleted) {
      // Queued, or delivered to a worker nobody saw start it (between attempts, or not yet
      // announced): stored now. A worker that did hold it stores under the same id, and the
      // first of the two stays.
      if (store_result(q->role, cancelled_result(id), q->seq, q->type).duplicate)
        if (auto done = final_state(id))
          return {{"id", id}, {"state", (*done)["state"]}};
      return {{"id", id}, {"state", "cancelled"}};
    }
  }
  return {{"id", id}, {"state", "cancelling"}};
}

} // namespace smith::services::orchestrator
