// Dead letters: list, show, requeue (a new delivery of the original task), delete.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "transport/clock.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

// One dead letter as the list shows it; with `with_task`, plus the original task's fields.
json dead_letter_entry(const tp::stored_message& m, bool with_task) {
  json e{{"seq", m.sequence}};
  auto d = tp::wire::decode_dead_letter(m.data);
  if (!d) {
    e["reason"] = "unreadable dead letter: " + d.error().message();
    return e;
  }
  e.update({{"id", d->id},
            {"role", d->role},
            {"type", d->type},
            {"reason", d->reason},
            {"attempts", d->attempts},
            {"subject", d->subject},
            {"stream_seq", d->stream_seq},
            {"failed_ms", d->failed_ms}});
  if (!with_task)
    return e;
  auto t = tp::wire::decode_task(d->original);
  if (!t) {
    e["task_error"] = "the original task does not decode: " + t.error().message();
    return e;
  }
  json task{{"id", t->id}, {"type", t->type}, {"created_ms", t->created_ms}, {"meta", t->meta}};
  put_bytes(task, "payload", t->payload);
  if (t->deadline_ms)
    task["deadline_ms"] = *t->deadline_ms;
  e["task"] = std::move(task);
  return e;
}

} // namespace

json task_service::dlq_list(std::size_t limit, std::uint64_t from_seq) {
  json out = json::array();
  auto stream = names_.dlq_stream();
  auto filter = names_.all_dlq();
  auto from = std::max<std::uint64_t>(from_seq, 1);
  while (out.size() < limit) {
    auto m = must(tp::next_message(*conn_, stream, from, filter), "read the dead letters");
    if (!m)
      break;
    from = m->sequence + 1;
    out.push_back(dead_letter_entry(*m, false));
  }
  return {{"dead_letters", out}, {"next_seq", from}};
}

json task_service::dlq_show(std::uint64_t seq) {
  auto m = must(tp::message_at(*conn_, names_.dlq_stream(), seq),
                "read dead letter " + std::to_string(seq));
  if (!m)
    throw api_error(404, "not_found", "no dead letter at sequence " + std::to_string(seq));
  return dead_letter_entry(*m, true);
}

json task_service::dlq_requeue(std::uint64_t seq) {
  auto stream = names_.dlq_stream();
  auto m = must(tp::message_at(*conn_, stream, seq), "read dead letter " + std::to_string(seq));
  if (!m)
    throw api_error(404, "not_found", "no dead letter at sequence " + std::to_string(seq));
  auto d = tp::wire::decode_dead_letter(m->data);
  if (!d)
    throw api_error(409, "not_requeueable",
                    "dead letter " + std::to_string(seq)
                      + " does not decode: " + d.error().message());
  auto t = tp::wire::decode_task(d->original);
  if (!t)
    throw api_error(409, "not_requeueable",
                    "the original task of dead letter " + std::to_string(seq) + " does not decode ("
                      + t.error().message() + "); it can only be deleted");
  // The attempts so far go with it, so handlers and results count every attempt. A task that
  // already carries the most meta entries a reader takes would not decode with one more.
  if (!t->meta.contains("prior_attempts")
      && t->meta.size() >= tp::wire::decode_limits{}.max_meta_entries)
    throw api_error(409, "not_requeueable",
                    "the original task of dead letter " + std::to_string(seq) + " carries "
                      + std::to_string(t->meta.size())
                      + " meta entries, the most a task may have, and a requeue adds "
                        "prior_attempts; submit it again with fewer, or delete the letter");
  t->meta["prior_attempts"] = std::to_string(d->attempts);
  auto out = tp::task_message(names_, d->role, *t);
  if (!out)
    throw api_error(409, "not_requeueable", out.error().message());
  // Its own id for dedup: the task id may still be inside the duplicate window, and a repeated
  // requeue of the same dead letter must not queue it twice.
  out->msg_id = t->id + "-requeue-" + std::to_string(seq);
  // The old "dead" result would hide the new attempt from status.
  must(tp::purge_subject(*conn_, names_.results_stream(), names_.result_of(t->id)),
       "clear the old result of " + t->id);
  auto ack = must(publish_for_request(*out, t->id,
                                      "requeue dead letter " + std::to_string(seq)
                                        + " again; that never queues it twice"),
                  "publish the requeued task");
  must(tp::delete_message(*conn_, stream, seq), "remove dead letter " + std::to_string(seq));
  return {{"id", t->id}, {"requeued_from", seq}, {"stream_seq", ack.sequence}};
}

json task_service::dlq_delete(std::uint64_t seq) {
  auto deleted = must(tp::delete_message(*conn_, names_.dlq_stream(), seq),
                      "delete dead letter " + std::to_string(seq));
  if (!deleted)
    throw api_error(404, "not_found", "no dead letter at sequence " + std::to_string(seq));
  return {{"deleted", seq}};
}

} // namespace smith::services::orchestrator
