// Deliveries: decoded, screened (Not-Before, cancelled, past deadline), given to workers.
#include "actors/dispatcher_state.hpp"

#include "actors/log.hpp"
#include "transport/clock.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/headers.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace smith::actors {

namespace {

std::optional<std::int64_t> header_ms(const transport::message& m, const char* key) {
  auto v = m.header(key);
  std::int64_t n = 0;
  if (!v || std::from_chars(v->data(), v->data() + v->size(), n).ec != std::errc{})
    return std::nullopt;
  return n;
}

// The attempts a requeued task had before (meta `prior_attempts`, set by a requeue).
std::uint32_t prior_attempts(const transport::wire::task& t) {
  auto it = t.meta.find("prior_attempts");
  std::uint32_t n = 0;
  if (it != t.meta.end())
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  return n;
}

// Core NATS notice on <prefix>.event.<id>: a handler started, for status and `smith watch`.
void announce_start(const dispatcher_config& cfg, const transport::wire::task& t,
                    std::uint32_t attempt, std::int64_t started_ms) {
  auto body = nlohmann::json{{"id", t.id},         {"kind", "started"},
                             {"attempt", attempt}, {"worker", cfg.worker_name},
                             {"role", cfg.role},   {"type", t.type},
                             {"ts_ms", started_ms}}
                .dump();
  (void)transport::publish_core(*cfg.conn, cfg.names.event(t.id), body);
}

void assign(dispatcher_actor* self, const message_ptr& m, task_ptr t) {
  auto& st = self->state;
  auto worker = st.idle.front();
  st.idle.pop_front();
  auto seq = m->stream_sequence();
  entry e;
  e.msg = m;
  e.task = t;
  e.cancelled = std::make_shared<std::atomic<bool>>(false);
  e.worker = worker;
  e.started = e.last_beat = clock_type::now();
  e.started_ms = transport::unix_ms();
  e.attempt = static_cast<std::uint32_t>(m->delivery_count());
  e.prior_attempts = prior_attempts(*t);
  e.deadline_ms = t->deadline_ms;
  if (auto h = header_ms(*m, transport::wire::headers::deadline))
    e.deadline_ms = e.deadline_ms ? std::min(*e.deadline_ms, *h) : *h;
  auto cancelled = e.cancelled;
  auto attempt = e.prior_attempts + e.attempt;
  announce_start(st.cfg, *t, attempt, e.started_ms);
  st.busy[worker.address()] = seq;
  if (e.deadline_ms)
    self->delayed_send(self, milliseconds{std::max<std::int64_t>(*e.deadline_ms - e.started_ms, 0)},
                       deadline_atom::value, seq);
  st.inflight.emplace(seq, std::move(e));
  self->send(worker, run_atom::value, job{seq, std::move(t), attempt, cancelled});
}

// Whether the result of the task message at `seq` is stored: the last result on the task's
// subject carries the Nats-Msg-Id the worker that ran this message gave it. A lookup that
// fails says no: running again is better than losing the task.
bool outcome_stored(const dispatcher_config& cfg, const transport::wire::task& t,
                    std::uint64_t seq) {
  auto last =
    transport::last_message(*cfg.conn, cfg.names.results_stream(), cfg.names.result(t.id));
  if (!last || !*last)
    return false;
  auto id = (*last)->header(transport::wire::headers::msg_id);
  return id && *id == transport::result_msg_id(seq);
}

} // namespace

void process(dispatcher_actor* self, const message_ptr& m) {
  auto& st = self->state;
  auto seq = m->stream_sequence();
  // A redelivery of a message this dispatcher still holds (the server's AckWait ran out
  // during a partition): the attempt in hand goes on, and its ack, heartbeats and nak now go
  // to the newest delivery. Running it a second time would store two outcomes.
  if (auto held = st.inflight.find(seq); held != st.inflight.end()) {
    auto& e = held->second;
    e.msg = m;
    e.attempt = static_cast<std::uint32_t>(m->delivery_count());
    if (e.ph == entry::phase::settling) // its ack or term was sent and did not take
      (void)(e.finally == entry::then::ack ? m->ack() : m->term());
    else
      (void)m->in_progress();
    return;
  }
  for (auto& parked : st.waiting)
    if (parked->stream_sequence() == seq) {
      parked = m;
      return;
    }
  auto decoded = transport::wire::decode_task(m->data(), st.cfg.limits);
  entry e;
  e.msg = m;
  e.started = e.last_beat = clock_type::now();
  e.started_ms = transport::unix_ms();
  e.attempt = static_cast<std::uint32_t>(m->delivery_count());
  if (!decoded) {
    // Never retried: the same bytes would fail again.
    e.error_type = "malformed";
    e.error = decoded.error().message();
    auto& ref = st.inflight.emplace(seq, std::move(e)).first->second;
    store(self, seq, ref, false, {}, true, "undecodable task body: " + decoded.error().message());
    return;
  }
  auto t = std::make_shared<const transport::wire::task>(std::move(*decoded));
  // A redelivery of an attempt that stored its outcome but whose ack never reached the server
  // (the worker died between the two, or the ack was lost): ack it, never run it again.
  if (m->delivery_count() > 1 && outcome_stored(st.cfg, *t, seq)) {
    (void)m->ack();
    SMITH_LOG(log(), info, "redelivered task already has its stored result; acked, not run",
              {"task_id", t->id}, {"trace_id", trace_id(m)}, {"stream_seq", seq});
    return;
  }
  if (auto nb = header_ms(*m, transport::wire::headers::not_before);
      nb && *nb > transport::unix_ms()) {
    (void)m->nak(milliseconds{*nb - transport::unix_ms()});
    return;
  }
  if (st.cancelled_ids.contains(t->id)) {
    e.task = t;
    e.prior_attempts = prior_attempts(*t);
    e.error_type = "cancelled";
    e.error = "cancelled";
    e.outcome_name = "cancelled";
    auto& ref = st.inflight.emplace(seq, std::move(e)).first->second;
    store(self, seq, ref, false, {}, false, "cancelled", "cancelled");
    return;
  }
  auto deadline = t->deadline_ms;
  if (auto h = header_ms(*m, transport::wire::headers::deadline))
    deadline = deadline ? std::min(*deadline, *h) : *h;
  if (deadline && transport::unix_ms() > *deadline) {
    e.task = t;
    e.error_type = "deadline";
    e.error = "deadline exceeded";
    auto& ref = st.inflight.emplace(seq, std::move(e)).first->second;
    store(self, seq, ref, false, {}, false, "deadline exceeded");
    return;
  }
  if (st.idle.empty()) {
    st.waiting.push_back(m);
    return;
  }
  assign(self, m, std::move(t));
}

void dispatch_waiting(dispatcher_actor* self) {
  auto& st = self->state;
  while (!st.idle.empty() && !st.waiting.empty()) {
    auto m = st.waiting.front();
    st.waiting.pop_front();
    process(self, m);
  }
}

} // namespace smith::actors
