#include "actors/dispatcher.hpp"

#include "actors/dispatcher_state.hpp"
#include "actors/fetcher.hpp"
#include "actors/log.hpp"
#include "transport/ack_confirmations.hpp"
#include "transport/subscription.hpp"
#include "transport/wire/subjects.hpp"

namespace smith::actors {

namespace {

// The dispatcher's port in a worker: NATS. Members end in reverse order: the fetcher first
// (it hands back what is in transit), the publisher last.
class nats_port final : public dispatcher_port {
public:
  nats_port(std::shared_ptr<transport::connection> conn, std::unique_ptr<transport::publisher> pub,
            std::unique_ptr<transport::ack_confirmations> confirms,
            std::unique_ptr<transport::subscription> cancels,
            std::unique_ptr<transport::subscription> pings)
    : conn_(std::move(conn)), pub_(std::move(pub)), confirms_(std::move(confirms)),
      cancels_(std::move(cancels)), pings_(std::move(pings)) {
  }

  void start_fetching(std::unique_ptr<fetcher> f) {
    fetch_ = std::move(f);
  }

  transport::expected<void> store(const transport::outgoing& out, std::uint64_t ref) override {
    return pub_->publish_async(out, ref);
  }

  void flush_soon() override {
    conn_->flush_soon();
  }

  void wait_stored(std::chrono::milliseconds timeout) override {
    (void)pub_->wait_complete(timeout);
  }

  void announce(const std::string& subject, const std::string& body) override {
    (void)transport::publish_core(*conn_, subject, body);
  }

  void set_capacity(std::int64_t deliveries) override {
    fetch_->set_capacity(deliveries);
  }

  void delivered(const delivery_batch& batch) override {
    fetch_->delivered(batch);
  }

  void stop_fetching() override {
    fetch_->stop();
  }

  std::string confirm_to(std::uint64_t seq) override {
    return confirms_->reply_for(seq);
  }

private:
  std::shared_ptr<transport::connection> conn_;
  std::unique_ptr<transport::publisher> pub_;
  std::unique_ptr<transport::ack_confirmations> confirms_;
  std::unique_ptr<transport::subscription> cancels_;
  std::unique_ptr<transport::subscription> pings_;
  std::unique_ptr<fetcher> fetch_;
};

void try_bind(dispatcher_actor* self) {
  auto& st = self->state;
  if (st.cfg.port) { // a test's: nothing to bind
    st.port = st.cfg.port;
    if (st.cfg.on_ready)
      st.cfg.on_ready(true);
    update_capacity(self);
    return;
  }
  auto consumer = transport::pull_consumer::bind(st.cfg.conn, st.cfg.names.tasks_stream(),
                                                 transport::wire::subjects::consumer(st.cfg.role));
  if (!consumer) {
    SMITH_LOG(log(), error, "cannot bind the consumer",
              {"error_type", transport::to_string(consumer.error().code())},
              {"error", consumer.error().message()});
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
        caf::anon_send(a, stored_atom::value,
                       store_outcome{ref, r.has_value(), r ? std::string{} : r.error().to_string(),
                                     !r && r.error().retryable()});
    });
  if (!pub) {
    SMITH_LOG(log(), error, "cannot create the publisher", {"error", pub.error().message()});
    self->delayed_send(self, milliseconds{1000}, bind_atom::value);
    return;
  }
  auto confirms = transport::ack_confirmations::create(st.cfg.conn, [weak](std::uint64_t seq) {
    if (auto a = caf::actor_cast<caf::actor>(weak))
      caf::anon_send(a, settled_atom::value, seq);
  });
  if (!confirms) {
    SMITH_LOG(log(), error, "cannot subscribe for ack confirmations",
              {"error", confirms.error().message()});
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
    SMITH_LOG(log(), error, "cannot subscribe for cancel notices",
              {"error", cancels.error().message()});
    self->delayed_send(self, milliseconds{1000}, bind_atom::value);
    return;
  }
  // Task pings (<prefix>.ping.task.<id>): one wildcard subscription, answered from the
  // in-flight table by the worker that runs the task; the others stay silent. Without it status
  // in the CLI's direct mode lacks worker and progress: a warning, not a reason to stop.
  auto ping_prefix = st.cfg.names.prefix() + ".ping.task.";
  auto pings = transport::subscription::create(
    st.cfg.conn, ping_prefix + "*", [weak, n = ping_prefix.size()](auto& m) {
      if (m.reply.empty() || m.subject.size() <= n)
        return;
      if (auto a = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(a, task_ping_atom::value, std::string{m.subject.substr(n)},
                       std::string{m.reply});
    });
  if (!pings)
    SMITH_LOG(log(), warn, "cannot answer task pings", {"error", pings.error().message()});
  auto port = std::make_shared<nats_port>(st.cfg.conn, std::move(*pub), std::move(*confirms),
                                          std::move(*cancels), pings ? std::move(*pings) : nullptr);
  port->start_fetching(std::make_unique<fetcher>(
    std::move(*consumer), caf::actor_cast<caf::actor>(self), st.cfg.fetch_expiry,
    [cfg = st.cfg](message_ptr m) { return screen(cfg, std::move(m)); }));
  st.port = std::move(port);
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
      if (!self->state.port)
        try_bind(self);
    },
    [self](register_atom, const caf::actor& worker) {
      self->monitor(worker);
      self->state.idle.push_back(worker);
      dispatch_waiting(self);
      update_capacity(self);
    },
    [self](deliver_atom, delivery_batch& batch) {
      auto& st = self->state;
      for (auto& d : batch.items)
        if (st.draining)
          (void)d.msg->nak();
        else
          process(self, d);
      // Lower the capacity before the messages stop counting as in transit: the other order
      // lets the fetch thread see a free slot that one of them is about to take.
      update_capacity(self);
      if (st.port)
        st.port->delivered(batch);
    },
    [self](done_atom, job_done& d) { on_done(self, d); },
    [self](stored_atom, const store_outcome& o) { on_stored(self, o); },
    [self](settled_atom, std::uint64_t seq) { on_settled(self, seq); },
    [self](tick_atom) { on_tick(self); },
    [self](announce_atom) { on_announce(self); },
    [self](cancel_atom, const std::string& id) { on_cancel(self, id); },
    [self](progress_atom, std::uint64_t seq, std::uint32_t attempt, int percent,
           const std::string& message) { on_progress(self, seq, attempt, percent, message); },
    [self](task_ping_atom, const std::string& id, const std::string& reply) {
      on_task_ping(self, id, reply);
    },
    [self](deadline_atom, std::uint64_t seq) { on_deadline(self, seq); },
    [self](restore_atom, std::uint64_t seq) { on_restore(self, seq); },
    [self](drain_atom) {
      auto& st = self->state;
      if (st.draining)
        return;
      st.draining = true;
      if (st.cfg.on_ready)
        st.cfg.on_ready(false);
      update_capacity(self);
      for (auto& d : st.waiting)
        (void)d.msg->nak();
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
  auto d = parent->spawn(dispatcher_behavior, cfg);
  // Registered here, before the supervisor starts the workers, not in the actor's own
  // start-up on its thread: workers look it up as they start.
  parent->system().registry().put(dispatcher_atom::value,
                                  caf::actor_cast<caf::strong_actor_ptr>(d));
  return d;
}

} // namespace smith::actors
