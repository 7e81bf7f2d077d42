// How attempts end: result and dead letter stored, then ack or term confirmed; or a nak.
#include "actors/dispatcher_state.hpp"

#include "actors/log.hpp"
#include "actors/task_log.hpp"
#include "transport/clock.hpp"
#include "transport/wire/headers.hpp"
#include "transport/wire/trace_context.hpp"

namespace smith::actors {

std::string_view task_id(const entry& e) noexcept {
  return e.task ? std::string_view{e.task->id} : std::string_view{};
}

std::optional<std::string_view> trace_id(const message_ptr& m) {
  auto header = m ? m->header(transport::wire::headers::traceparent) : std::nullopt;
  return header ? transport::wire::trace_id_of(*header) : std::nullopt;
}

void finish(dispatcher_actor* self, std::uint64_t seq, const std::string& outcome_name) {
  auto& st = self->state;
  auto it = st.inflight.find(seq);
  if (it == st.inflight.end())
    return;
  auto& e = it->second;
  auto took = clock_type::now() - e.started;
  st.cfg.stats->task_finished(e.task ? e.task->type : "unknown", outcome_name, took);
  log_task_end({std::string{task_id(e)}, std::string{trace_id(e.msg).value_or("")},
                e.task ? e.task->type : "", st.cfg.role, outcome_name,
                e.prior_attempts + e.attempt, // as results and events count: a requeue goes on
                std::chrono::duration_cast<milliseconds>(took), e.error_type, e.error});
  if (e.ph != entry::phase::running)
    --st.storing;
  st.spent.add(std::move(e.msg));
  st.inflight.erase(it);
  if (st.inflight.empty())
    st.spent.release();
}

void store(dispatcher_actor* self, std::uint64_t seq, entry& e, bool ok, const std::string& output,
           bool dead_letter, const std::string& reason, const char* status) {
  auto& st = self->state;
  if (e.ph != entry::phase::storing)
    ++st.storing;
  e.ph = entry::phase::storing;
  e.finally = dead_letter || !ok ? entry::then::term : entry::then::ack;
  e.outs.clear();
  // Kept (moved, not copied) for publishing again after a store that timed out.
  auto submit = [&](transport::outgoing out) {
    const auto& kept = e.outs.emplace_back(std::move(out));
    if (auto r = st.port->store(kept, seq); r)
      ++e.stores_pending;
    else
      e.store_failed = true;
  };
  if (e.task) {
    transport::wire::result r;
    r.id = e.task->id;
    r.ok = ok;
    r.output = output;
    if (!ok)
      r.error = reason;
    if (status != nullptr)
      r.status = status;
    r.attempts = e.prior_attempts + e.attempt;
    r.worker = st.cfg.worker_name;
    r.started_ms = e.started_ms;
    r.finished_ms = transport::unix_ms();
    auto trace = e.msg->header(transport::wire::headers::traceparent);
    auto out =
      transport::result_message(st.cfg.names, st.cfg.role, r, trace ? *trace : std::string_view{});
    // The results stream refuses a message over SMITH_MAX_MSG_BYTES (headers included): such
    // an output would fail to store on every attempt. It fails once, saying why.
    const std::size_t header_room = 1024 + e.task->type.size();
    if (out.body.size() + header_room > st.cfg.limits.max_body_bytes) {
      r.ok = false;
      r.error = "the output of " + std::to_string(output.size())
                + " bytes does not fit in a result: results are at most "
                + std::to_string(st.cfg.limits.max_body_bytes)
                + " bytes (SMITH_MAX_MSG_BYTES); the output was dropped. Hint: store large "
                + "outputs elsewhere and return a reference";
      r.output.clear();
      r.status.reset();
      e.finally = entry::then::term;
      e.outcome_name = "failed";
      e.error_type = "output_too_large";
      e.error = *r.error;
      out = transport::result_message(st.cfg.names, st.cfg.role, r,
                                      trace ? *trace : std::string_view{});
    }
    // The type, so a list of finished tasks can say it without the task (docs/WIRE.md).
    out.headers.emplace_back(transport::wire::headers::type, e.task->type);
    out.msg_id = transport::result_msg_id(seq);
    submit(std::move(out));
  }
  if (dead_letter) {
    transport::wire::dead_letter d;
    d.id = e.task ? e.task->id : "";
    d.role = st.cfg.role;
    d.type = e.task ? e.task->type : "unknown";
    d.reason = reason;
    d.attempts = e.prior_attempts + e.attempt;
    d.subject = std::string{e.msg->subject()};
    d.stream_seq = seq;
    d.failed_ms = transport::unix_ms();
    d.original = std::string{e.msg->data()};
    transport::outgoing out;
    out.subject =
      st.cfg.names.dlq(st.cfg.role, transport::wire::is_subject_token(d.type) ? d.type : "unknown");
    out.body = transport::wire::encode(d);
    out.msg_id = "dlq-" + std::to_string(seq);
    submit(std::move(out));
  }
  if (e.stores_pending > 0 && st.storing < write_at_once_below)
    st.port->flush_soon();
  if (e.stores_pending == 0) {
    // Nothing could be queued for storing: retry the whole attempt later.
    (void)e.msg->nak(retry_delay(st.cfg, e.attempt));
    finish(self, seq, "retried");
  }
}

void on_done(dispatcher_actor* self, job_done& d) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor>(self->current_sender());
  if (sender) {
    st.busy.erase(sender.address());
    if (!d.handler_threw) // a worker that threw is on its way out; its successor registers
      st.idle.push_back(sender);
  }
  auto it = st.inflight.find(d.seq);
  if (it != st.inflight.end() && it->second.ph == entry::phase::running) {
    auto& e = it->second;
    auto& r = d.result;
    auto ran = std::chrono::duration<double, std::micro>(clock_type::now() - e.started).count();
    st.run_average_us = st.run_average_us < 0 ? ran : 0.9 * st.run_average_us + 0.1 * ran;
    e.error_type = r.error_type;
    e.error = r.error;
    if (e.cancel_requested && r.what != outcome::kind::succeeded) {
      // A cancelled task that did not succeed ended because of the cancel: never retried, not
      // dead. One that succeeded anyway keeps its result (docs/ARCHITECTURE.md, Cancel).
      e.outcome_name = "cancelled";
      e.error_type = "cancelled";
      store(self, d.seq, e, false, r.output, false, "cancelled", "cancelled");
    } else
      switch (r.what) {
        case outcome::kind::succeeded:
          e.outcome_name = "succeeded";
          store(self, d.seq, e, true, r.output, false, {});
          break;
        case outcome::kind::retry:
          if (st.cfg.max_deliver > 0 && static_cast<int>(e.attempt) >= st.cfg.max_deliver) {
            e.outcome_name = "dead";
            store(self, d.seq, e, false, r.output, true,
                  r.error + " (attempt " + std::to_string(e.attempt) + " of "
                    + std::to_string(st.cfg.max_deliver) + ")",
                  "dead");
          } else {
            (void)e.msg->nak(retry_delay(st.cfg, e.attempt));
            finish(self, d.seq, "retried");
          }
          break;
        case outcome::kind::fail:
          e.outcome_name = "failed";
          store(self, d.seq, e, false, r.output, true, r.error);
          break;
      }
  }
  dispatch_waiting(self);
  update_capacity(self);
  check_drained(self);
}

// The result is stored: ack (or term). A plain ack ends the attempt: should it be lost, the
// redelivery finds the stored result and is acked without running. While draining, the
// server confirms each one, so the process exits only once they are taken.
namespace {

void settle(dispatcher_actor* self, std::uint64_t seq, entry& e) {
  auto& st = self->state;
  auto reply = st.draining ? st.port->confirm_to(seq) : std::string{};
  auto sent = e.finally == entry::then::ack ? e.msg->ack(reply) : e.msg->term(reply);
  if (!sent || reply.empty()) {
    finish(self, seq, e.outcome_name.empty() ? "failed" : e.outcome_name);
    return;
  }
  e.ph = entry::phase::settling;
  e.settle_sent = clock_type::now();
}

} // namespace

void on_stored(dispatcher_actor* self, const store_outcome& o) {
  auto& st = self->state;
  auto it = st.inflight.find(o.ref);
  if (it == st.inflight.end())
    return;
  auto& e = it->second;
  if (!o.ok) {
    if (o.retryable) { // published again with the same ids: nothing failed yet
      e.store_retry = true;
      SMITH_LOG(log(), warn, "storing a result timed out; publishing it again",
                {"task_id", task_id(e)}, {"trace_id", trace_id(e.msg)},
                {"error_type", "store_retry"}, {"error", o.error});
    } else { // the attempt is retried, and its task_duration line says why
      e.store_failed = true;
      e.error_type = "store_failed";
      e.error = o.error;
      SMITH_LOG(log(), error, "storing a result failed", {"task_id", task_id(e)},
                {"trace_id", trace_id(e.msg)}, {"error_type", "store_failed"}, {"error", o.error});
    }
  }
  if (--e.stores_pending > 0)
    return;
  if (e.store_failed) {
    (void)e.msg->nak(retry_delay(st.cfg, e.attempt));
    finish(self, o.ref, "retried");
  } else if (e.store_retry) {
    // It may be stored already: never run the task again for it, publish the same again.
    e.store_retry = false;
    self->delayed_send(self, restore_pause, restore_atom::value, o.ref);
    return;
  } else {
    settle(self, o.ref, e);
  }
  update_capacity(self);
  check_drained(self);
}

void on_restore(dispatcher_actor* self, std::uint64_t seq) {
  auto& st = self->state;
  auto it = st.inflight.find(seq);
  if (it == st.inflight.end() || it->second.ph != entry::phase::storing
      || it->second.stores_pending > 0)
    return;
  auto& e = it->second;
  for (const auto& out : e.outs)
    if (st.port->store(out, seq))
      ++e.stores_pending;
  if (e.stores_pending == 0) // no room to publish (backpressure): try again shortly
    self->delayed_send(self, restore_pause, restore_atom::value, seq);
}

void on_settled(dispatcher_actor* self, std::uint64_t seq) {
  auto& st = self->state;
  auto it = st.inflight.find(seq);
  if (it == st.inflight.end() || it->second.ph != entry::phase::settling)
    return;
  finish(self, seq, it->second.outcome_name.empty() ? "failed" : it->second.outcome_name);
  update_capacity(self);
  check_drained(self);
}

} // namespace smith::actors
