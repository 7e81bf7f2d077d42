#include "transport/publisher.hpp"
#include "transport/nats_error.hpp"

#include "transport/clock.hpp"
#include "transport/connection.hpp"
#include "transport/wire/headers.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace smith::transport {

struct publisher::state {
  completion on_complete;
  std::atomic<std::int64_t> pending{0};
  // nats.c hands the message back to the ack callback: its address finds the caller's ref.
  std::mutex mtx;
  std::unordered_map<const natsMsg*, std::uint64_t> refs;
};

namespace {

expected<msg_handle> make_msg(const outgoing& out) {
  natsMsg* raw = nullptr;
  auto st = natsMsg_Create(&raw, out.subject.c_str(), nullptr, out.body.data(),
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

} // namespace

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
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = self->conn_->config().request_timeout.count();
  jo.PublishAsync.MaxPending = opts.max_pending;
  jo.PublishAsync.StallWait = opts.stall_wait.count();
  jo.PublishAsync.AckHandler = &publisher::on_ack;
  jo.PublishAsync.AckHandlerClosure = self->state_.get();
  jsCtx* js = nullptr;
  if (auto st = natsConnection_JetStream(&js, self->conn_->native(), &jo); st != NATS_OK)
    return from_nats(st, "create JetStream context for publishing");
  self->js_.reset(js);
  return self;
}

publisher::~publisher() {
  if (js_ && state_->pending.load() > 0) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 2000;
    js_PublishAsyncComplete(js_.get(), &po);
  }
  js_.reset();
  // An ack callback may still be on its way from a nats.c thread: the state it points at
  // lives as long as the connection, which outlives its subscriptions' callbacks.
  conn_->keep_alive(state_);
}

void publisher::on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* st = static_cast<state*>(closure);
  msg_handle hold{msg};
  std::uint64_t ref = 0;
  if (st->on_complete) {
    std::lock_guard guard{st->mtx};
    if (auto it = st->refs.find(msg); it != st->refs.end()) {
      ref = it->second;
      st->refs.erase(it);
    }
  }
  st->pending.fetch_sub(1);
  if (!st->on_complete)
    return;
  const char* id = nullptr;
  natsMsgHeader_Get(msg, wire::headers::msg_id, &id);
  std::string_view msg_id = id != nullptr ? id : "";
  if (pa != nullptr) {
    st->on_complete(
      ref, msg_id,
      publish_ack{pa->Stream != nullptr ? pa->Stream : "", pa->Sequence, pa->Duplicate});
    return;
  }
  auto err = from_nats(pae != nullptr ? pae->Err : NATS_ERR,
                       "publish to " + std::string{natsMsg_GetSubject(msg)},
                       pae != nullptr ? pae->ErrCode : 0);
  if (pae != nullptr && pae->ErrText != nullptr && pae->ErrCode != 0)
    err = error{err.code(), err.message() + ": " + pae->ErrText, err.nats_status(), err.js_code()};
  st->on_complete(ref, msg_id, err);
}

namespace {

expected<publish_ack> publish_on(jsCtx* js, const outgoing& msg,
                                 std::chrono::milliseconds timeout) {
  auto m = make_msg(msg);
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
  return publish_on(js_.get(), msg, timeout);
}

expected<publish_ack> publish(const connection& conn, const outgoing& msg,
                              std::chrono::milliseconds timeout) {
  return publish_on(conn.jetstream(), msg, timeout);
}

expected<void> publisher::publish_async(const outgoing& msg, std::uint64_t ref) {
  auto m = make_msg(msg);
  if (!m)
    return m.error();
  natsMsg* raw = m->release();
  const natsMsg* key = raw;
  state_->pending.fetch_add(1);
  if (state_->on_complete) {
    std::lock_guard guard{state_->mtx};
    state_->refs[key] = ref;
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = opts_.ack_timeout.count();
  auto st = js_PublishMsgAsync(js_.get(), &raw, &po);
  if (st != NATS_OK) {
    msg_handle back{raw}; // still ours when the call failed
    state_->pending.fetch_sub(1);
    if (state_->on_complete) {
      std::lock_guard guard{state_->mtx};
      state_->refs.erase(key);
    }
    if (st == NATS_TIMEOUT)
      return error{errc::backpressure,
                   "publish to " + msg.subject + ": " + std::to_string(opts_.max_pending)
                     + " publishes still wait for acks after "
                     + std::to_string(opts_.stall_wait.count())
                     + " ms. Hint: the server is slow or unreachable; retry later",
                   st};
    return from_nats(st, "publish to " + msg.subject);
  }
  return {};
}

expected<void> publisher::wait_complete(std::chrono::milliseconds timeout) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout.count();
  if (auto st = js_PublishAsyncComplete(js_.get(), &po); st != NATS_OK)
    return from_nats(st, "wait for " + std::to_string(pending()) + " publish acks");
  return {};
}

std::int64_t publisher::pending() const {
  return state_->pending.load();
}

} // namespace smith::transport
