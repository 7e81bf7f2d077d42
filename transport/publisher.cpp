#include "transport/publisher.hpp"
#include "transport/nats_error.hpp"

#include "transport/clock.hpp"
#include "transport/connection.hpp"
#include "transport/pub_ack.hpp"
#include "transport/wire/headers.hpp"

#include <condition_variable>
#include <map>
#include <mutex>

namespace smith::transport {

expected<msg_handle> nats_message(const outgoing& out, const char* reply) {
  natsMsg* raw = nullptr;
  auto st = natsMsg_Create(&raw, out.subject.c_str(), reply, out.body.data(),
                           static_cast<int>(out.body.size()));
  if (st != NATS_OK)
    return from_nats(st, "build message for " + out.subject);
  msg_handle m{raw};
  if (!out.msg_id.empty())
    if (auto s = natsMsgHeader_Set(raw, wire::headers::msg_id, out.msg_id.c_str()); s != NATS_OK)
      return from_nats(s, "set header Nats-Msg-Id");
  for (const auto& [key, value] : out.headers)
    if (auto s = natsMsgHeader_Set(raw, key.c_str(), value.c_str()); s != NATS_OK)
      return from_nats(s, "set header " + key);
  return m;
}

expected<outgoing> task_message(const wire::subjects& names, std::string_view role,
                                const wire::task& t, const task_headers& extra) {
  auto refuse = [](std::string_view field, std::string_view value) {
    return error{errc::invalid_argument,
                 std::string{field} + " \"" + std::string{value}
                   + "\" cannot stand in a subject: use no '.', '*', '>' or whitespace"};
  };
  if (!wire::is_subject_token(role))
    return refuse("role", role);
  if (!wire::is_subject_token(t.type))
    return refuse("type", t.type);
  if (!wire::is_subject_token(t.id))
    return refuse("task id", t.id);
  outgoing out;
  out.subject = names.task(role, t.type, t.id);
  out.body = wire::encode(t);
  out.msg_id = t.id;
  out.headers.emplace_back(wire::headers::type, t.type);
  if (t.deadline_ms)
    out.headers.emplace_back(wire::headers::deadline, std::to_string(*t.deadline_ms));
  if (extra.not_before_ms) {
    out.headers.emplace_back(wire::headers::schedule, "@at " + rfc3339_ms(*extra.not_before_ms));
    out.headers.emplace_back(wire::headers::schedule_target, out.subject);
    out.subject = names.schedule(role, t.type, t.id);
  }
  if (!extra.traceparent.empty())
    out.headers.emplace_back(wire::headers::traceparent, extra.traceparent);
  return out;
}

outgoing result_message(const wire::subjects& names, std::string_view role, const wire::result& r,
                        std::string_view traceparent) {
  outgoing out;
  out.subject = names.result(role, r.id);
  out.body = wire::encode(r);
  if (!traceparent.empty())
    out.headers.emplace_back(wire::headers::traceparent, std::string{traceparent});
  return out;
}

std::string result_msg_id(std::uint64_t task_seq) {
  return "result-" + std::to_string(task_seq);
}

struct publisher::state {
  using clock_type = std::chrono::steady_clock;

  // What waits for an ack: the caller's reference and what its completion names.
  struct waiting {
    std::uint64_t ref = 0;
    std::string msg_id;
    std::string subject;
    clock_type::time_point deadline;
  };

  completion on_complete;
  std::mutex mtx;
  // Publishes waiting for room and wait_complete() callers: told when pending drops.
  std::condition_variable room;
  int room_waiters = 0;
  // The expiry thread: told to stop, and otherwise never told anything (see expire_loop).
  std::condition_variable expiry;
  bool stop = false;
  // By the id in the reply subject: ids grow, and with one ack_timeout so do the deadlines.
  std::map<std::uint64_t, waiting> waiting_acks;
  std::uint64_t next_id = 0;
  // Publishes without their outcome yet: an entry leaves waiting_acks when its outcome is
  // known, and counts here until its completion has returned.
  std::int64_t pending = 0;
  // Messages sent, and acks read (only on_ack touches acks_read: nats.c calls one
  // subscription's handler on one thread at a time).
  std::mutex sent_mtx;
  batched_release<msg_handle> sent;
  batched_release<msg_handle> acks_read;

  // Takes the entry for `id` out, if its outcome is still open.
  std::optional<waiting> take(std::uint64_t id) {
    std::lock_guard guard{mtx};
    auto it = waiting_acks.find(id);
    if (it == waiting_acks.end())
      return std::nullopt;
    auto w = std::move(it->second);
    waiting_acks.erase(it);
    return w;
  }

  /// Returns whether nothing is pending any more.
  bool completed(std::int64_t n) {
    std::lock_guard guard{mtx};
    pending -= n;
    if (room_waiters > 0)
      room.notify_all();
    return pending == 0;
  }

  bool idle() {
    std::lock_guard guard{mtx};
    return pending == 0;
  }

  /// Reports the outcome; returns whether nothing is pending any more.
  bool complete(const waiting& w, const expected<publish_ack>& outcome) {
    if (on_complete)
      on_complete(w.ref, w.msg_id, outcome);
    return completed(1);
  }
};

publisher::publisher(std::shared_ptr<connection> conn, options opts)
  : conn_(std::move(conn)), opts_(opts), state_(std::make_shared<state>()) {
}

expected<std::unique_ptr<publisher>> publisher::create(std::shared_ptr<connection> conn,
                                                       options opts, completion on_complete) {
  if (opts.max_pending < 1)
    return error{errc::invalid_argument, "publisher max_pending must be at least 1"};
  if (opts.ack_timeout.count() < 1)
    return error{errc::invalid_argument, "publisher ack_timeout must be at least 1ms"};
  std::unique_ptr<publisher> self{new publisher(std::move(conn), opts)};
  self->state_->on_complete = std::move(on_complete);
  // The state lives on until nats.c says the last ack handler has returned.
  auto acks =
    numbered_inbox::create(*self->conn_, [st = self->state_](std::uint64_t id, msg_handle ack) {
      on_ack(*st, id, std::move(ack));
    });
  if (!acks)
    return acks.error();
  self->acks_ = std::move(*acks);
  self->expiry_ = std::thread{[p = self.get()] { p->expire_loop(); }};
  return self;
}

publisher::~publisher() {
  if (pending() > 0)
    (void)wait_complete(std::chrono::milliseconds{2000});
  {
    std::lock_guard guard{state_->mtx};
    state_->stop = true;
  }
  state_->expiry.notify_one();
  if (expiry_.joinable())
    expiry_.join();
}

void publisher::on_ack(state& st, std::uint64_t id, msg_handle ack) {
  // An ack after its timeout finds nothing: the caller was told, and publishes it again.
  auto w = st.take(id);
  bool quiet = w ? st.complete(*w, read_pub_ack(ack.get(), w->subject)) : st.idle();
  st.acks_read.add(std::move(ack));
  if (quiet) { // nothing more to come for now: a quiet publisher holds no messages
    st.acks_read.release();
    std::lock_guard guard{st.sent_mtx};
    st.sent.release();
  }
}

void publisher::expire_loop() {
  auto& st = *state_;
  std::unique_lock lock{st.mtx};
  while (!st.stop) {
    // With nothing waiting, it sleeps one ack_timeout: a message that starts waiting later has
    // its deadline no sooner than that wake-up, so no publish has to wake this thread (an idle
    // worker would otherwise pay a thread switch per task for it).
    if (st.waiting_acks.empty()) {
      st.expiry.wait_for(lock, opts_.ack_timeout);
      continue;
    }
    auto now = state::clock_type::now();
    if (auto first = st.waiting_acks.begin()->second.deadline; first > now) {
      st.expiry.wait_until(lock, first);
      continue;
    }
    std::vector<state::waiting> expired;
    while (!st.waiting_acks.empty() && st.waiting_acks.begin()->second.deadline <= now) {
      expired.push_back(std::move(st.waiting_acks.begin()->second));
      st.waiting_acks.erase(st.waiting_acks.begin());
    }
    lock.unlock();
    for (const auto& w : expired)
      st.complete(w, from_nats(NATS_TIMEOUT, "publish to " + w.subject));
    lock.lock();
  }
}

namespace {

expected<publish_ack> publish_on(jsCtx* js, const outgoing& msg,
                                 std::chrono::milliseconds timeout) {
  auto m = nats_message(msg);
  if (!m)
    return m.error();
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout.count();
  jsPubAck* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st = js_PublishMsg(&raw, js, m->get(), &po, &jerr);
  pub_ack_handle pa{raw};
  if (st != NATS_OK)
    return from_nats(st, "publish to " + msg.subject, jerr);
  return publish_ack{pa->Stream != nullptr ? pa->Stream : "", pa->Sequence, pa->Duplicate};
}

} // namespace

expected<publish_ack> publisher::publish(const outgoing& msg, std::chrono::milliseconds timeout) {
  return publish_on(conn_->jetstream(), msg, timeout);
}

expected<publish_ack> publish(const connection& conn, const outgoing& msg,
                              std::chrono::milliseconds timeout) {
  return publish_on(conn.jetstream(), msg, timeout);
}

expected<void> publisher::publish_async(const outgoing& msg, std::uint64_t ref) {
  auto& st = *state_;
  std::uint64_t id = 0;
  {
    std::unique_lock lock{st.mtx};
    if (st.pending >= opts_.max_pending) {
      ++st.room_waiters;
      st.room.wait_for(lock, opts_.stall_wait, [&] { return st.pending < opts_.max_pending; });
      --st.room_waiters;
      if (st.pending >= opts_.max_pending)
        return error{errc::backpressure,
                     "publish to " + msg.subject + ": " + std::to_string(opts_.max_pending)
                       + " publishes still wait for acks after "
                       + std::to_string(opts_.stall_wait.count())
                       + " ms. Hint: the server is slow or unreachable; retry later",
                     NATS_TIMEOUT};
    }
    id = st.next_id++;
    st.waiting_acks.emplace_hint(
      st.waiting_acks.end(), id,
      state::waiting{ref, msg.msg_id, msg.subject, state::clock_type::now() + opts_.ack_timeout});
    ++st.pending;
  }
  auto m = nats_message(msg, acks_->reply_for(id).c_str());
  auto st_pub = m ? natsConnection_PublishMsg(conn_->native(), m->get()) : NATS_OK;
  if (m && st_pub == NATS_OK) {
    std::lock_guard guard{st.sent_mtx};
    st.sent.add(std::move(*m));
    return {};
  }
  // Not sent: no ack will come, and the caller keeps the message, unless the timer has
  // already reported it timed out (a write that blocked past ack_timeout): then its outcome is
  // out, and this call must not report a second one.
  if (!st.take(id))
    return {};
  st.completed(1);
  if (!m)
    return m.error();
  return from_nats(st_pub, "publish to " + msg.subject);
}

expected<void> publisher::wait_complete(std::chrono::milliseconds timeout) {
  auto& st = *state_;
  std::unique_lock lock{st.mtx};
  ++st.room_waiters;
  bool done = st.room.wait_for(lock, timeout, [&] { return st.pending == 0; });
  --st.room_waiters;
  if (!done)
    return from_nats(NATS_TIMEOUT, "wait for " + std::to_string(st.pending) + " publish acks");
  return {};
}

std::int64_t publisher::pending() const {
  std::lock_guard guard{state_->mtx};
  return state_->pending;
}

} // namespace smith::transport
