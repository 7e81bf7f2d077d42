// Off the per-task path: heartbeats, deadlines, stuck stores, cancel notices, drain, capacity.
#include "actors/dispatcher_state.hpp"

#include "actors/log.hpp"
#include "transport/clock.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <vector>

namespace smith::actors {

milliseconds retry_delay(const dispatcher_config& cfg, std::uint32_t attempt) {
  if (cfg.retry_backoff.empty())
    return milliseconds{0};
  auto i = std::min<std::size_t>(attempt == 0 ? 0 : attempt - 1, cfg.retry_backoff.size() - 1);
  return cfg.retry_backoff[i];
}

void update_capacity(dispatcher_actor* self) {
  auto& st = self->state;
  if (!st.port)
    return;
  auto idle = static_cast<std::int64_t>(st.idle.size());
  auto workers = idle + static_cast<std::int64_t>(st.busy.size());
  std::int64_t prefetch = 0;
  if (auto budget = static_cast<double>(prefetch_budget.count());
      st.run_average_us >= 0 && st.run_average_us < budget)
    prefetch =
      std::min(max_prefetch, static_cast<std::int64_t>(static_cast<double>(workers) * budget
                                                       / std::max(st.run_average_us, 1.0)));
  auto free = idle + prefetch - static_cast<std::int64_t>(st.waiting.size());
  if (st.draining || st.storing >= settle_window)
    free = 0;
  st.port->set_capacity(std::max<std::int64_t>(free, 0));
  st.cfg.stats->set_in_flight(static_cast<std::int64_t>(st.busy.size()));
}

void check_drained(dispatcher_actor* self) {
  auto& st = self->state;
  if (!st.draining)
    return;
  bool running = false;
  for (auto& [seq, e] : st.inflight)
    running = running || e.ph == entry::phase::running;
  if (!running && (st.inflight.empty() || st.drain_expired)) {
    if (st.port) {
      st.port->wait_stored(milliseconds{5000});
      st.port->stop_fetching();
    }
    self->quit(caf::exit_reason::normal);
  }
}

namespace {

// The running attempt at `seq` is past its deadline: the handler is told (exec kills its
// process group) and the failed result is stored now, not when the handler gives up.
void expire(dispatcher_actor* self, std::uint64_t seq, entry& e) {
  e.cancelled->store(true);
  e.error_type = "deadline";
  e.error = "deadline exceeded";
  e.outcome_name = "failed";
  store(self, seq, e, false, {}, false, "deadline exceeded");
}

} // namespace

void on_tick(dispatcher_actor* self) {
  auto& st = self->state;
  auto now = clock_type::now();
  auto beat = st.cfg.ack_wait / 3;
  std::vector<std::uint64_t> unconfirmed;
  for (auto& [seq, e] : st.inflight) {
    if (e.ph == entry::phase::settling && now - e.settle_sent >= settle_timeout)
      unconfirmed.push_back(seq);
    if (e.ph == entry::phase::settling)
      continue;
    if (e.ph == entry::phase::running && e.deadline_ms
        && transport::unix_ms() > *e.deadline_ms) { // the timer's backstop
      expire(self, seq, e);
      continue;
    }
    // Running, or storing its outcome (which may take publishing again after a lost link):
    // the attempt is still ours, so the server must not hand it to another worker.
    if (now - e.last_beat >= beat) {
      (void)e.msg->in_progress();
      e.last_beat = now;
    }
  }
  // Prefetched deliveries are ours too until a worker takes them.
  for (auto& d : st.waiting)
    if (now - d.last_beat >= beat) {
      (void)d.msg->in_progress();
      d.last_beat = now;
    }
  // A confirmation lost with a broken link: the result is stored; if the ack was lost too the
  // server redelivers, and the redelivery is acked without running (its result is stored).
  for (auto seq : unconfirmed) {
    auto& e = st.inflight[seq];
    SMITH_LOG(log(), warn, "no confirmation for an ack", {"task_id", task_id(e)},
              {"trace_id", trace_id(e.msg)}, {"stream_seq", seq});
    finish(self, seq, e.outcome_name.empty() ? "failed" : e.outcome_name);
  }
  if (!unconfirmed.empty()) {
    update_capacity(self);
    check_drained(self);
  }
  std::erase_if(st.cancelled_ids,
                [now](const auto& kv) { return now - kv.second > cancel_memory; });
  auto period = std::clamp<milliseconds>(st.cfg.ack_wait / 6, milliseconds{50}, milliseconds{5000});
  self->delayed_send(self, period, tick_atom::value);
}

dispatcher_state::~dispatcher_state() {
  for (auto& [seq, e] : inflight) {
    if (e.cancelled)
      e.cancelled->store(true);
    if (e.ph != entry::phase::settling && e.msg && !e.msg->acknowledged())
      (void)e.msg->nak();
  }
  for (auto& d : waiting)
    if (!d.msg->acknowledged())
      (void)d.msg->nak();
}

void on_announce(dispatcher_actor* self) {
  auto& st = self->state;
  auto due = clock_type::now() - announce_after + milliseconds{1};
  bool more = false;
  for (auto& [seq, e] : st.inflight) {
    if (e.ph != entry::phase::running || e.announced || !e.task)
      continue;
    if (e.started > due) {
      more = true;
      continue;
    }
    // Core NATS notice on <prefix>.event.<id>, for status and `smith watch`.
    e.announced = true;
    auto body = nlohmann::json{{"id", e.task->id},
                               {"kind", "started"},
                               {"attempt", e.prior_attempts + e.attempt},
                               {"worker", st.cfg.worker_name},
                               {"role", st.cfg.role},
                               {"type", e.task->type},
                               {"ts_ms", e.started_ms}}
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    st.port->announce(st.cfg.names.event(e.task->id), body);
  }
  st.announce_armed = more;
  if (more)
    self->delayed_send(self, announce_after, announce_atom::value);
}

milliseconds deadline_timer(std::int64_t deadline_ms, std::int64_t now_ms) {
  // A deadline comes from whoever published the task: one in the year 292 million must not
  // overflow the clock (the timer would fire at once, and again, and again).
  if (deadline_ms <= now_ms)
    return milliseconds{0};
  return std::min(milliseconds{deadline_ms - now_ms}, longest_timer);
}

void on_deadline(dispatcher_actor* self, std::uint64_t seq) {
  auto& st = self->state;
  auto it = st.inflight.find(seq);
  if (it == st.inflight.end() || it->second.ph != entry::phase::running || !it->second.deadline_ms)
    return;
  // The timer runs on the steady clock, deadlines are wall-clock: re-arm if it came early.
  if (auto wait = deadline_timer(*it->second.deadline_ms, transport::unix_ms());
      wait > milliseconds{0}) {
    self->delayed_send(self, wait, deadline_atom::value, seq);
    return;
  }
  expire(self, seq, it->second);
  update_capacity(self);
}

void on_cancel(dispatcher_actor* self, const std::string& id) {
  auto& st = self->state;
  st.cancelled_ids.emplace(id, clock_type::now());
  for (auto& [seq, e] : st.inflight)
    if (e.task && e.task->id == id && e.ph == entry::phase::running) {
      e.cancel_requested = true;
      e.cancelled->store(true); // the handler sees it; exec kills its process group
    }
}

void on_progress(dispatcher_actor* self, std::uint64_t seq, std::uint32_t attempt, int percent,
                 const std::string& message) {
  auto it = self->state.inflight.find(seq);
  if (it == self->state.inflight.end() || it->second.prior_attempts + it->second.attempt != attempt)
    return; // the attempt is over: a late report
  // As the orchestrator's tracker reads the event: a percent outside 0..100 reads as 0.
  it->second.percent = percent >= 0 && percent <= 100 ? percent : 0;
  it->second.progress_message = message;
}

std::optional<std::string> running_status(const dispatcher_state& st, std::string_view id) {
  for (const auto& [seq, e] : st.inflight) {
    // Only attempts a worker took (a delivery ended before any handler ran never ran), and not
    // once the result is stored (settling): status reads it then.
    if (!e.task || !e.worker || e.ph == entry::phase::settling || e.task->id != id)
      continue;
    nlohmann::json doc{{"id", e.task->id},
                       {"state", "running"},
                       {"role", st.cfg.role},
                       {"type", e.task->type},
                       {"worker", st.cfg.worker_name},
                       {"attempts", e.prior_attempts + e.attempt},
                       {"started_ms", e.started_ms}};
    if (e.percent)
      doc["progress"] = {{"percent", *e.percent}, {"message", e.progress_message}};
    // A handler's message may hold any bytes: non-UTF-8 ones go out as U+FFFD, as in events.
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return std::nullopt;
}

void on_task_ping(dispatcher_actor* self, const std::string& id, const std::string& reply) {
  auto& st = self->state;
  if (reply.empty() || !st.port)
    return;
  if (auto body = running_status(st, id))
    st.port->announce(reply, *body);
}

} // namespace smith::actors
