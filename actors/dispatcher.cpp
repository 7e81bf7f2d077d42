#include "actors/dispatcher.hpp"

#include "actors/fetcher.hpp"
#include "actors/messages.hpp"
#include "actors/task_log.hpp"
#include "transport/ack_confirmations.hpp"
#include "transport/clock.hpp"
#include "transport/headers.hpp"
#include "transport/publisher.hpp"
#include "transport/subscription.hpp"

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include <charconv>
#include <deque>
#include <map>

namespace smith::actors {

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::optional<std::int64_t> header_ms(const transport::message& m, const char* key) {
  auto v = m.header(key);
  std::int64_t n = 0;
  if (!v || std::from_chars(v->data(), v->data() + v->size(), n).ec != std::errc{})
    return std::nullopt;
  return n;
}

struct entry {
  /// running: a worker has it; storing: its result or dead letter is being published;
  /// settling: ack or term sent, waiting for the server to confirm it.
  enum class phase : std::uint8_t { running, storing, settling };
  enum class then : std::uint8_t { ack, term };

  message_ptr msg;
  task_ptr task;
  cancel_flag cancelled;
  caf::actor worker;
  clock_type::time_point started;
  clock_type::time_point last_beat;
  clock_type::time_point settle_sent;
  clock_type::time_point store_sent;
  std::int64_t started_ms = 0;
  std::uint32_t attempt = 1;        // this message's delivery count: MaxDeliver counts it
  std::uint32_t prior_attempts = 0; // attempts before a requeue from the dead-letter stream
  std::optional<std::int64_t> deadline_ms;
  bool cancel_requested = false;
  phase ph = phase::running;
  then finally = then::ack;
  int stores_pending = 0;
  bool store_failed = false;
  std::string outcome_name;
  std::string error_type;
  std::string error;
};

struct dispatcher_state {
  dispatcher_config cfg;
  std::unique_ptr<transport::publisher> pub;
  std::unique_ptr<transport::ack_confirmations> confirms;
  std::shared_ptr<fetcher> fetch;
  std::map<std::uint64_t, entry> inflight;       // by stream sequence
  std::map<caf::actor_addr, std::uint64_t> busy; // worker → the seq it runs
  std::deque<caf::actor> idle;
  std::deque<message_ptr> waiting; // delivered while no worker was idle
  std::unique_ptr<transport::subscription> cancels;
  // Task ids cancelled lately: a task delivered after its cancel notice never starts.
  std::map<std::string, clock_type::time_point, std::less<>> cancelled_ids;
  // Attempts being stored or settled: not yet acked as far as the server knows, so they hold
  // a slot although their worker is idle again. Without this the consumer's num_ack_pending
  // could pass the concurrency while results wait for their publish acks, or acks for the
  // server to take them (it handles acks asynchronously).
  std::int64_t storing = 0;
  bool draining = false;
  bool drain_expired = false;
  static inline const char* name = "smith.dispatcher";
};

using dispatcher_actor = caf::stateful_actor<dispatcher_state>;

constexpr milliseconds settle_timeout{5000};
// nats.c 3.4.1 has no timeout for an asynchronous publish: an ack lost with a broken link (a
// partition, a leader change) never comes, and the slot would stay taken for good. Past this,
// the attempt goes back to the queue; the result's Nats-Msg-Id makes a late store harmless.
constexpr milliseconds store_timeout{10'000};
// How long a cancel notice is remembered for tasks not yet delivered to this dispatcher.
constexpr milliseconds cancel_memory{600'000};

// The attempts a requeued task had before (meta `prior_attempts`, set by a requeue).
std::uint32_t prior_attempts(const transport::task& t) {
  auto it = t.meta.find("prior_attempts");
  std::uint32_t n = 0;
  if (it != t.meta.end())
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  return n;
}

// Core NATS notice on <prefix>.event.<id>: a handler started, for status and `smith watch`.
void announce_start(const dispatcher_config& cfg, const transport::task& t, std::uint32_t attempt,
                    std::int64_t started_ms) {
  auto body = nlohmann::json{{"id", t.id},         {"kind", "started"},
                             {"attempt", attempt}, {"worker", cfg.worker_name},
                             {"role", cfg.role},   {"type", t.type},
                             {"ts_ms", started_ms}}
                .dump();
  (void)transport::publish_core(*cfg.conn, cfg.names.event(t.id), body);
}

milliseconds retry_delay(const dispatcher_config& cfg, std::uint32_t attempt) {
  if (cfg.retry_backoff.empty())
    return milliseconds{0};
  auto i = std::min<std::size_t>(attempt == 0 ? 0 : attempt - 1, cfg.retry_backoff.size() - 1);
  return cfg.retry_backoff[i];
}

void update_capacity(dispatcher_actor* self) {
  auto& st = self->state;
  if (!st.fetch)
    return;
  auto free = static_cast<std::int64_t>(st.idle.size())
              - static_cast<std::int64_t>(st.waiting.size()) - st.storing;
  st.fetch->set_capacity(st.draining ? 0 : std::max<std::int64_t>(free, 0));
  st.cfg.stats->set_in_flight(static_cast<std::int64_t>(st.busy.size()));
}

void finish(dispatcher_actor* self, std::uint64_t seq, const std::string& outcome_name) {
  auto& st = self->state;
  auto it = st.inflight.find(seq);
  if (it == st.inflight.end())
    return;
  auto& e = it->second;
  auto took = clock_type::now() - e.started;
  st.cfg.stats->task_finished(e.task ? e.task->type : "unknown", outcome_name, took);
  log_task_end({e.task ? e.task->id : "", e.task ? e.task->type : "", st.cfg.role, outcome_name,
                e.attempt, std::chrono::duration_cast<milliseconds>(took), e.error_type, e.error});
  if (e.ph != entry::phase::running)
    --st.storing;
  st.inflight.erase(it);
}

// Stores a result and/or a dead letter for `e`, then acks or terms once both are in.
void store(dispatcher_actor* self, std::uint64_t seq, entry& e, bool ok, const std::string& output,
           bool dead_letter, const std::string& reason, const char* status = nullptr) {
  auto& st = self->state;
  if (e.ph != entry::phase::storing)
    ++st.storing;
  e.ph = entry::phase::storing;
  e.store_sent = clock_type::now();
  e.finally = dead_letter || !ok ? entry::then::term : entry::then::ack;
  auto submit = [&](const transport::outgoing& out) {
    if (auto r = st.pub->publish_async(out, seq); r)
      ++e.stores_pending;
    else
      e.store_failed = true;
  };
  if (e.task) {
    transport::result r;
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
    auto trace = e.msg->header(transport::headers::traceparent);
    auto out = transport::result_message(st.cfg.names, r, trace ? *trace : std::string_view{});
    out.msg_id = transport::result_msg_id(seq);
    submit(out);
  }
  if (dead_letter) {
    transport::dead_letter d;
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
      st.cfg.names.dlq(st.cfg.role, transport::is_subject_token(d.type) ? d.type : "unknown");
    out.body = transport::encode(d);
    out.msg_id = "dlq-" + std::to_string(seq);
    submit(out);
  }
  if (e.stores_pending == 0) {
    // Nothing could be queued for storing: retry the whole attempt later.
    (void)e.msg->nak(retry_delay(st.cfg, e.attempt));
    finish(self, seq, "retried");
  }
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
  if (auto h = header_ms(*m, transport::headers::deadline))
    e.deadline_ms = e.deadline_ms ? std::min(*e.deadline_ms, *h) : *h;
  auto cancelled = e.cancelled;
  auto attempt = e.prior_attempts + e.attempt;
  announce_start(st.cfg, *t, attempt, e.started_ms);
  st.busy[worker.address()] = seq;
  st.inflight.emplace(seq, std::move(e));
  self->send(worker, run_atom::value, job{seq, std::move(t), attempt, cancelled});
}

// Decodes and screens a delivery, then hands it to an idle worker (or parks it).
void process(dispatcher_actor* self, const message_ptr& m) {
  auto& st = self->state;
  auto seq = m->stream_sequence();
  auto decoded = transport::decode_task(m->data(), st.cfg.limits);
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
  auto t = std::make_shared<const transport::task>(std::move(*decoded));
  if (auto nb = header_ms(*m, transport::headers::not_before); nb && *nb > transport::unix_ms()) {
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
  if (auto h = header_ms(*m, transport::headers::deadline))
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

void check_drained(dispatcher_actor* self) {
  auto& st = self->state;
  if (!st.draining)
    return;
  bool running = false;
  for (auto& [seq, e] : st.inflight)
    running = running || e.ph == entry::phase::running;
  if (!running && (st.inflight.empty() || st.drain_expired)) {
    if (st.pub)
      (void)st.pub->wait_complete(milliseconds{5000});
    if (st.fetch)
      st.fetch->stop();
    self->quit(caf::exit_reason::normal);
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
    e.error_type = r.error_type;
    e.error = r.error;
    if (e.cancel_requested) {
      // Whatever the handler made of it, the task was cancelled: never retried, not dead.
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

// The result is stored: ack (or term) and wait for the server to confirm before the slot is
// free again. Without a confirmation there is nothing to wait for.
void settle(dispatcher_actor* self, std::uint64_t seq, entry& e) {
  auto& st = self->state;
  auto reply = st.confirms ? st.confirms->reply_for(seq) : std::string{};
  auto sent = e.finally == entry::then::ack ? e.msg->ack(reply) : e.msg->term(reply);
  if (!sent || reply.empty()) {
    finish(self, seq, e.outcome_name.empty() ? "failed" : e.outcome_name);
    return;
  }
  e.ph = entry::phase::settling;
  e.settle_sent = clock_type::now();
}

void on_stored(dispatcher_actor* self, const store_outcome& o) {
  auto& st = self->state;
  auto it = st.inflight.find(o.ref);
  if (it == st.inflight.end())
    return;
  auto& e = it->second;
  if (!o.ok) {
    e.store_failed = true;
    spdlog::error(R"({{"level":"ERROR","msg":"storing a result failed","task_id":"{}",)"
                  R"("error_type":"store_failed","error":"{}"}})",
                  e.task ? e.task->id : "", o.error);
  }
  if (--e.stores_pending > 0)
    return;
  if (e.store_failed) {
    (void)e.msg->nak(retry_delay(st.cfg, e.attempt));
    finish(self, o.ref, "retried");
  } else {
    settle(self, o.ref, e);
  }
  update_capacity(self);
  check_drained(self);
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

void on_tick(dispatcher_actor* self) {
  auto& st = self->state;
  auto now = clock_type::now();
  auto beat = st.cfg.ack_wait / 3;
  std::vector<std::uint64_t> unconfirmed;
  std::vector<std::uint64_t> unstored;
  for (auto& [seq, e] : st.inflight) {
    if (e.ph == entry::phase::settling && now - e.settle_sent >= settle_timeout)
      unconfirmed.push_back(seq);
    if (e.ph == entry::phase::storing && now - e.store_sent >= store_timeout)
      unstored.push_back(seq);
    if (e.ph != entry::phase::running)
      continue;
    if (e.deadline_ms && transport::unix_ms() > *e.deadline_ms) {
      e.cancelled->store(true);
      e.error_type = "deadline";
      e.error = "deadline exceeded";
      e.outcome_name = "failed";
      store(self, seq, e, false, {}, false, "deadline exceeded");
      continue;
    }
    if (now - e.last_beat >= beat) {
      (void)e.msg->in_progress();
      e.last_beat = now;
    }
  }
  // A confirmation lost with a broken link: the result is stored; if the ack was lost too the
  // server redelivers, and readers take a task's last result.
  for (auto seq : unconfirmed) {
    auto& e = st.inflight[seq];
    spdlog::warn(R"({{"msg":"no confirmation for an ack","task_id":"{}","stream_seq":{}}})",
                 e.task ? e.task->id : "", seq);
    finish(self, seq, e.outcome_name.empty() ? "failed" : e.outcome_name);
  }
  for (auto seq : unstored) {
    auto& e = st.inflight[seq];
    spdlog::warn(R"({{"msg":"no ack for a stored result; the task goes back to the queue",)"
                 R"("task_id":"{}","stream_seq":{},"error_type":"store_timeout"}})",
                 e.task ? e.task->id : "", seq);
    (void)e.msg->nak(retry_delay(st.cfg, e.attempt));
    finish(self, seq, "retried");
  }
  if (!unconfirmed.empty() || !unstored.empty()) {
    update_capacity(self);
    check_drained(self);
  }
  std::erase_if(st.cancelled_ids,
                [now](const auto& kv) { return now - kv.second > cancel_memory; });
  auto period = std::clamp<milliseconds>(st.cfg.ack_wait / 6, milliseconds{50}, milliseconds{5000});
  self->delayed_send(self, period, tick_atom::value);
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

void try_bind(dispatcher_actor* self) {
  auto& st = self->state;
  auto consumer = transport::pull_consumer::bind(st.cfg.conn, st.cfg.names.tasks_stream(),
                                                 transport::subjects::consumer(st.cfg.role));
  if (!consumer) {
    spdlog::error(R"({{"level":"ERROR","msg":"cannot bind the consumer","error_type":"{}",)"
                  R"("error":"{}"}})",
                  transport::to_string(consumer.error().code()), consumer.error().message());
    self->delayed_send(self, milliseconds{1000}, bind_atom::value);
    return;
  }
  // The consumer on the server is the truth for redelivery timing, whatever this process was
  // configured with: heartbeats and the last attempt follow it.
  if (auto info = (*consumer)->info(); info) {
    if (info->ack_wait.count() > 0)
      st.cfg.ack_wait = info->ack_wait;
    st.cfg.max_deliver = static_cast<int>(info->max_deliver);
  }
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  auto pub = transport::publisher::create(
    st.cfg.conn, {}, [weak](std::uint64_t ref, std::string_view, const auto& r) {
      if (auto a = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(
          a, stored_atom::value,
          store_outcome{ref, r.has_value(), r ? std::string{} : r.error().to_string()});
    });
  if (!pub) {
    spdlog::error(R"({{"level":"ERROR","msg":"cannot create the publisher","error":"{}"}})",
                  pub.error().message());
    self->delayed_send(self, milliseconds{1000}, bind_atom::value);
    return;
  }
  auto confirms = transport::ack_confirmations::create(st.cfg.conn, [weak](std::uint64_t seq) {
    if (auto a = caf::actor_cast<caf::actor>(weak))
      caf::anon_send(a, settled_atom::value, seq);
  });
  if (!confirms) {
    spdlog::error(
      R"({{"level":"ERROR","msg":"cannot subscribe for ack confirmations","error":"{}"}})",
      confirms.error().message());
    self->delayed_send(self, milliseconds{1000}, bind_atom::value);
    return;
  }
  // Cancel notices are core NATS: a dispatcher that is down misses them, but the orchestrator
  // also deletes a cancelled task from the stream, so it is never delivered again.
  auto cancels = transport::subscription::create(
    st.cfg.conn, st.cfg.names.all_cancels(), [weak, prefix = st.cfg.names.all_cancels()](auto& m) {
      auto id = m.subject.substr(prefix.size() - 1);
      if (auto a = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(a, cancel_atom::value, std::string{id});
    });
  if (!cancels) {
    spdlog::error(R"({{"level":"ERROR","msg":"cannot subscribe for cancel notices","error":"{}"}})",
                  cancels.error().message());
    self->delayed_send(self, milliseconds{1000}, bind_atom::value);
    return;
  }
  st.pub = std::move(*pub);
  st.confirms = std::move(*confirms);
  st.cancels = std::move(*cancels);
  st.fetch = std::make_shared<fetcher>(std::move(*consumer), caf::actor_cast<caf::actor>(self),
                                       st.cfg.fetch_expiry);
  if (st.cfg.on_ready)
    st.cfg.on_ready(true);
  update_capacity(self);
}

caf::behavior dispatcher_behavior(dispatcher_actor* self, dispatcher_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  // spawn_dispatcher put us in the registry. It holds a strong reference: drop it on exit, or the
  // actor is never destroyed and the actor system waits for it forever at shutdown.
  self->attach_functor([sys = &self->system(), addr = self->address()] {
    auto& reg = sys->registry();
    if (auto cur = reg.get(dispatcher_atom::value); cur && cur->address() == addr)
      reg.erase(dispatcher_atom::value);
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    std::erase_if(st.idle, [&](const caf::actor& a) { return a.address() == dm.source; });
    if (auto it = st.busy.find(dm.source); it != st.busy.end()) {
      // The worker died without a word: the attempt failed.
      auto seq = it->second;
      st.busy.erase(it);
      if (auto e = st.inflight.find(seq);
          e != st.inflight.end() && e->second.ph == entry::phase::running) {
        e->second.error_type = "worker_died";
        (void)e->second.msg->nak(retry_delay(st.cfg, e->second.attempt));
        finish(self, seq, "retried");
      }
    }
    update_capacity(self);
    check_drained(self);
  });
  try_bind(self);
  self->send(self, tick_atom::value);
  return {
    [self](bind_atom) {
      if (!self->state.fetch)
        try_bind(self);
    },
    [self](register_atom, caf::actor worker) {
      self->monitor(worker);
      self->state.idle.push_back(worker);
      dispatch_waiting(self);
      update_capacity(self);
    },
    [self](deliver_atom, const message_ptr& m) {
      auto& st = self->state;
      if (st.draining)
        (void)m->nak();
      else
        process(self, m);
      // Lower the capacity before the message stops counting as in transit: the other order
      // lets the fetch thread see a free slot that this message is about to take.
      update_capacity(self);
      if (st.fetch)
        st.fetch->delivered();
    },
    [self](done_atom, job_done& d) { on_done(self, d); },
    [self](stored_atom, const store_outcome& o) { on_stored(self, o); },
    [self](settled_atom, std::uint64_t seq) { on_settled(self, seq); },
    [self](tick_atom) { on_tick(self); },
    [self](cancel_atom, const std::string& id) { on_cancel(self, id); },
    [self](drain_atom) {
      auto& st = self->state;
      if (st.draining)
        return;
      st.draining = true;
      if (st.cfg.on_ready)
        st.cfg.on_ready(false);
      update_capacity(self);
      for (auto& m : st.waiting)
        (void)m->nak();
      st.waiting.clear();
      self->delayed_send(self, st.cfg.drain_timeout, drain_deadline_atom::value);
      check_drained(self);
    },
    [self](drain_deadline_atom) {
      auto& st = self->state;
      st.drain_expired = true;
      // What is still running goes back to the queue at once for another worker.
      std::vector<std::uint64_t> running;
      for (auto& [seq, e] : st.inflight)
        if (e.ph == entry::phase::running)
          running.push_back(seq);
      for (auto seq : running) {
        auto& e = st.inflight[seq];
        e.cancelled->store(true);
        (void)e.msg->nak();
        finish(self, seq, "retried");
      }
      st.busy.clear();
      check_drained(self);
    },
  };
}

} // namespace

caf::actor spawn_dispatcher(caf::local_actor* parent, const dispatcher_config& cfg) {
  auto d = parent->spawn<caf::detached>(dispatcher_behavior, cfg);
  // Registered here, before the supervisor starts the workers, not in the actor's own
  // start-up on its thread: workers look it up as they start.
  parent->system().registry().put(dispatcher_atom::value,
                                  caf::actor_cast<caf::strong_actor_ptr>(d));
  return d;
}

} // namespace smith::actors
