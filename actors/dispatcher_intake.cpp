// Deliveries: decoded, screened (Not-Before, cancelled, past deadline), given to workers.
#include "actors/dispatcher_state.hpp"

#include "actors/log.hpp"
#include "transport/clock.hpp"
#include "transport/publisher.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/headers.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <ctime>

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

// Whether the result of the task message at `seq` is stored: the last result on the task's
// subject carries the Nats-Msg-Id the worker that ran this message gave it. A lookup that
// fails says no: running again is better than losing the task.
bool outcome_stored(const dispatcher_config& cfg, const transport::wire::task& t,
                    std::uint64_t seq) {
  auto last = transport::last_message(*cfg.conn, cfg.names.results_stream(),
                                      cfg.names.result(cfg.role, t.id));
  if (!last || !*last)
    return false;
  auto id = (*last)->header(transport::wire::headers::msg_id);
  return id && *id == transport::result_msg_id(seq);
}

} // namespace

namespace {

// Why the subject of a task message is not <prefix>.task.<role>.<type>.<id> for its body's type
// and id (wire version 2), or empty.
std::string subject_fault(const dispatcher_config& cfg, std::string_view subject,
                          const transport::wire::task* t) {
  auto addr = cfg.names.parse_task(subject);
  if (!addr)
    return "task subject " + std::string{subject} + " is not " + cfg.names.prefix()
           + ".task.<role>.<type>.<id> (wire version 2 puts the task id last)";
  if (t != nullptr && (addr->type != t->type || addr->id != t->id))
    return "task subject " + std::string{subject} + " does not match the body's type \"" + t->type
           + "\" and id \"" + t->id + "\"";
  return {};
}

// "<name>-20261129T075606Z": a recurring schedule's name and the second its firing was stored
// (the server fires on whole seconds; a redelivery keeps the stored time, so the same id).
std::string firing_id(std::string_view name, std::int64_t stored_ns) {
  auto secs = static_cast<std::time_t>(stored_ns / 1'000'000'000);
  std::tm tmv{};
  gmtime_r(&secs, &tmv);
  char stamp[24];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tmv);
  return std::string{name} + "-" + stamp;
}

// A task that a recurring schedule fired (docs/WIRE.md §2.3) runs under an id of its own, and
// the firing is recorded for `smith schedule show`. A record that cannot be written costs the
// listing one line, never the task.
void take_firing(const dispatcher_config& cfg, const message_ptr& m,
                 std::shared_ptr<const transport::wire::task>& task) {
  auto by = m->header(transport::wire::headers::scheduler);
  if (!by)
    return;
  auto addr = cfg.names.parse_task(m->subject());
  if (!addr || *by != cfg.names.recurring(addr->role, addr->type, addr->id))
    return;
  auto stored_ns = m->info().timestamp_ns;
  auto fired = std::make_shared<transport::wire::task>(*task);
  fired->id = firing_id(addr->id, stored_ns);
  if (m->delivery_count() == 1) {
    transport::outgoing record;
    record.subject = cfg.names.fired(addr->role, addr->id);
    nlohmann::json body{
      {"id", fired->id},
      {"fired_ms", stored_ns / 1'000'000},
      {"next", std::string{m->header(transport::wire::headers::schedule_next).value_or("")}}};
    // The schedule's header came from its publisher: non-UTF-8 bytes go out as U+FFFD.
    record.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    record.msg_id = fired->id;
    if (auto ok = transport::publish(*cfg.conn, record, std::chrono::seconds{2}); !ok)
      SMITH_LOG(log(), warn, "could not record a schedule's firing", {"task_id", fired->id},
                {"error_type", transport::to_string(ok.error().code())},
                {"error", ok.error().message()});
  }
  task = std::move(fired);
}

} // namespace

std::optional<delivery> screen(const dispatcher_config& cfg, message_ptr m) {
  delivery d;
  auto decoded = transport::wire::decode_task(m->data(), cfg.limits);
  auto fault = subject_fault(cfg, m->subject(), decoded ? &*decoded : nullptr);
  if (!fault.empty() || !decoded) {
    d.malformed = fault.empty() ? decoded.error().message() : fault;
    d.msg = std::move(m);
    return d;
  }
  d.task = std::make_shared<const transport::wire::task>(std::move(*decoded));
  take_firing(cfg, m, d.task);
  // A redelivery of an attempt that stored its outcome but whose ack never reached the server
  // (the worker died between the two, or the ack was lost): ack it, never run it again.
  if (m->delivery_count() > 1 && outcome_stored(cfg, *d.task, m->stream_sequence())) {
    (void)m->ack();
    SMITH_LOG(log(), info, "redelivered task already has its stored result; acked, not run",
              {"task_id", d.task->id}, {"trace_id", trace_id(m)},
              {"stream_seq", m->stream_sequence()});
    return std::nullopt;
  }
  d.msg = std::move(m);
  return d;
}

namespace {

// An entry for a delivery that ends before any handler runs.
entry unstarted(const delivery& d) {
  entry e;
  e.msg = d.msg;
  e.task = d.task;
  e.started = e.last_beat = clock_type::now();
  e.started_ms = transport::unix_ms();
  e.attempt = static_cast<std::uint32_t>(d.msg->delivery_count());
  if (d.task)
    e.prior_attempts = prior_attempts(*d.task);
  return e;
}

// Hands `d` to the first idle worker; `deadline` is the task's, from its body or header.
void assign(dispatcher_actor* self, const delivery& d, std::optional<std::int64_t> deadline) {
  auto& st = self->state;
  auto worker = st.idle.front();
  st.idle.pop_front();
  auto seq = d.msg->stream_sequence();
  auto e = unstarted(d);
  e.cancelled = std::make_shared<std::atomic<bool>>(false);
  e.worker = worker;
  e.deadline_ms = deadline;
  auto cancelled = e.cancelled;
  auto attempt = e.prior_attempts + e.attempt;
  st.busy[worker.address()] = seq;
  if (!st.announce_armed) {
    st.announce_armed = true;
    self->delayed_send(self, announce_after, announce_atom::value);
  }
  if (deadline)
    self->delayed_send(self, deadline_timer(*deadline, e.started_ms), deadline_atom::value, seq);
  st.inflight.emplace(seq, std::move(e));
  self->send(worker, run_atom::value, job{seq, d.task, attempt, cancelled});
}

// Hands a screened delivery to an idle worker, unless it was cancelled or its deadline passed
// while it waited.
void start(dispatcher_actor* self, const delivery& d) {
  auto& st = self->state;
  auto seq = d.msg->stream_sequence();
  const auto& t = *d.task;
  if (st.cancelled_ids.contains(t.id)) {
    auto e = unstarted(d);
    e.error_type = "cancelled";
    e.error = "cancelled";
    e.outcome_name = "cancelled";
    auto& ref = st.inflight.emplace(seq, std::move(e)).first->second;
    store(self, seq, ref, false, {}, false, "cancelled", "cancelled");
    return;
  }
  auto deadline = t.deadline_ms;
  if (auto h = header_ms(*d.msg, transport::wire::headers::deadline))
    deadline = deadline ? std::min(*deadline, *h) : *h;
  if (deadline && transport::unix_ms() > *deadline) {
    auto e = unstarted(d);
    e.error_type = "deadline";
    e.error = "deadline exceeded";
    auto& ref = st.inflight.emplace(seq, std::move(e)).first->second;
    store(self, seq, ref, false, {}, false, "deadline exceeded");
    return;
  }
  assign(self, d, deadline);
}

} // namespace

void process(dispatcher_actor* self, delivery d) {
  auto& st = self->state;
  const auto& m = d.msg;
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
    if (parked.msg->stream_sequence() == seq) {
      parked.msg = m;
      return;
    }
  if (!d.task) {
    // Never retried: the same bytes would fail again.
    auto e = unstarted(d);
    e.error_type = "malformed";
    e.error = d.malformed;
    auto& ref = st.inflight.emplace(seq, std::move(e)).first->second;
    store(self, seq, ref, false, {}, true, "undecodable task body: " + d.malformed);
    return;
  }
  if (st.idle.empty()) {
    d.last_beat = clock_type::now();
    st.waiting.push_back(std::move(d));
    return;
  }
  start(self, d);
}

void dispatch_waiting(dispatcher_actor* self) {
  auto& st = self->state;
  while (!st.idle.empty() && !st.waiting.empty()) {
    auto d = std::move(st.waiting.front());
    st.waiting.pop_front();
    start(self, d);
  }
}

} // namespace smith::actors
