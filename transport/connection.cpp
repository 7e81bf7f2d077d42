#include "transport/connection.hpp"
#include "transport/log.hpp"
#include "transport/login.hpp"
#include "transport/nats_error.hpp"

#include <condition_variable>
#include <random>
#include <thread>
#include <vector>

namespace smith::transport {

std::string_view to_string(connection_event_kind kind) noexcept {
  switch (kind) {
    case connection_event_kind::disconnected:
      return "disconnected";
    case connection_event_kind::reconnected:
      return "reconnected";
    case connection_event_kind::closed:
      return "closed";
    case connection_event_kind::async_error:
      return "async_error";
  }
  return "unknown";
}

// The thread behind flush_soon(): natsConnection_FlushTimeout writes nats.c's buffer in place,
// then waits for the PONG. While it waits, further calls only mark one more write as due, so a
// busy owner that kicks often still costs one write per round trip at most.
class connection::write_kicker {
public:
  explicit write_kicker(natsConnection* nc) : nc_(nc), thread_([this] { run(); }) {
  }

  ~write_kicker() {
    stop();
  }

  /// Ends the thread; kick() does nothing afterwards. Idempotent; not concurrent with itself.
  void stop() {
    {
      std::lock_guard guard{mtx_};
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable())
      thread_.join();
  }

  write_kicker(const write_kicker&) = delete;
  write_kicker& operator=(const write_kicker&) = delete;

  void kick() {
    if (due_.exchange(true, std::memory_order_acq_rel))
      return; // a write is due already: it takes this one along
    std::lock_guard guard{mtx_};
    cv_.notify_one();
  }

private:
  void run() {
    std::unique_lock lock{mtx_};
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || due_.load(std::memory_order_acquire); });
      if (stop_)
        return;
      due_.store(false, std::memory_order_release);
      lock.unlock();
      // Errors need no handling here: a lost link shows in the connection's events, and what
      // was buffered goes out with the reconnect or is retried by its owner.
      (void)natsConnection_FlushTimeout(nc_, 100);
      lock.lock();
    }
  }

  natsConnection* nc_;
  std::atomic<bool> due_{false};
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_; // last: it starts with everything above in place
};

connection::connection(connection_config cfg) : cfg_(std::move(cfg)) {
}

connection::~connection() {
  close();
}

expected<std::shared_ptr<connection>> connection::connect(const connection_config& cfg) {
  if (auto ok = validate(cfg); !ok)
    return ok.error();
  std::shared_ptr<connection> self{new connection(cfg)};
  natsOptions* raw = nullptr;
  SMITH_TRY(natsOptions_Create(&raw), "create NATS options");
  self->opts_.reset(raw);
  auto* o = raw;
  std::vector<const char*> urls;
  for (const auto& url : cfg.servers)
    urls.push_back(url.c_str());
  SMITH_TRY(natsOptions_SetServers(o, urls.data(), static_cast<int>(urls.size())),
            "set NATS servers");
  SMITH_TRY(natsOptions_SetName(o, cfg.name.c_str()), "set connection name");
  if (auto ok = set_login_options(o, cfg, self->secrets_); !ok)
    return ok.error();
  SMITH_TRY(natsOptions_SetTimeout(o, cfg.connect_timeout.count()), "set connect timeout");
  SMITH_TRY(natsOptions_SetMaxReconnect(o, -1), "set reconnect forever");
  SMITH_TRY(natsOptions_SetReconnectWait(o, cfg.reconnect_wait.count()), "set reconnect wait");
  SMITH_TRY(natsOptions_SetCustomReconnectDelay(o, &connection::reconnect_delay, self.get()),
            "set reconnect backoff");
  SMITH_TRY(natsOptions_SetSendAsap(o, !cfg.coalesce_writes), "set send-asap");
  // What nats.c buffers while disconnected. Publishes that matter are retried by us (a result
  // whose ack timed out goes out again with the same Nats-Msg-Id), so the buffer only spares
  // work. nats.c allocates it anew on each outage from its reconnect thread, a new thread each
  // time; glibc keeps the freed block in that thread's arena, so every outage could keep one
  // buffer resident until the arenas run out (8 per core): 8 MiB each at nats.c's default.
  SMITH_TRY(natsOptions_SetReconnectBufSize(o, 1024 * 1024), "set reconnect buffer size");
  SMITH_TRY(natsOptions_SetDisconnectedCB(o, &connection::on_disconnected, self.get()),
            "set disconnected callback");
  SMITH_TRY(natsOptions_SetReconnectedCB(o, &connection::on_reconnected, self.get()),
            "set reconnected callback");
  SMITH_TRY(natsOptions_SetClosedCB(o, &connection::on_closed, self.get()), "set closed callback");
  SMITH_TRY(natsOptions_SetErrorHandler(o, &connection::on_error, self.get()), "set error handler");
  if (cfg.retry_on_failed_connect)
    SMITH_TRY(natsOptions_SetRetryOnFailedConnect(o, true, &connection::on_reconnected, self.get()),
              "set retry on failed connect");

  natsConnection* nc = nullptr;
  auto st = natsConnection_Connect(&nc, o);
  if (st != NATS_OK && !(st == NATS_NOT_YET_CONNECTED && cfg.retry_on_failed_connect)) {
    std::string what = "connect to";
    for (const auto& url : cfg.servers)
      what += ' ' + url;
    auto err = from_nats(st, what);
    // The callbacks point at `self`: no closed callback can come from a handle never created.
    self->closed_ = true;
    return err;
  }
  self->conn_.reset(nc);
  if (cfg.coalesce_writes)
    self->kicker_ = std::make_unique<write_kicker>(nc);
  if (st == NATS_OK)
    if (auto ok = self->check_server(); !ok) {
      self->close();
      return ok.error();
    }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = cfg.request_timeout.count();
  jsCtx* js = nullptr;
  SMITH_TRY(natsConnection_JetStream(&js, nc, &jo), "create JetStream context");
  self->js_.reset(js);
  return self;
}

bool connection::connected() const {
  return conn_ && !unsupported_ && natsConnection_Status(conn_.get()) == NATS_CONN_STATUS_CONNECTED;
}

std::optional<server_version> connection::server() const {
  std::lock_guard guard{mtx_};
  return server_;
}

expected<void> connection::check_server() {
  auto url = connected_url();
  auto v = probe_server_version(url, cfg_.connect_timeout);
  if (!v) {
    SMITH_LOG(log(), warn, "could not read the nats server's version", {"url", url},
              {"error_type", to_string(v.error().code())}, {"error", v.error().message()});
    return {};
  }
  {
    std::lock_guard guard{mtx_};
    server_ = *v;
  }
  auto ok = require_server(*v, minimum_server_version);
  unsupported_ = !ok;
  return ok;
}

std::string connection::connected_url() const {
  char buf[256] = {0};
  if (conn_ && natsConnection_GetConnectedUrl(conn_.get(), buf, sizeof(buf)) == NATS_OK)
    return buf;
  return {};
}

std::uint64_t connection::add_listener(listener fn) {
  std::lock_guard guard{mtx_};
  auto token = next_token_++;
  listeners_.emplace(token, std::move(fn));
  return token;
}

void connection::keep_alive(std::shared_ptr<void> obj) {
  std::lock_guard guard{mtx_};
  kept_.push_back(std::move(obj));
}

void connection::remove_listener(std::uint64_t token) {
  {
    std::lock_guard guard{mtx_};
    listeners_.erase(token);
    if (emitting_ == std::this_thread::get_id())
      return; // from inside a listener: no other call is in progress
  }
  // A call in progress on nats.c's thread may be this listener's: it ends before we return.
  std::lock_guard calls_done{emit_mtx_};
}

expected<void> connection::flush(std::chrono::milliseconds timeout) {
  if (auto st = natsConnection_FlushTimeout(conn_.get(), timeout.count()); st != NATS_OK)
    return from_nats(st, "flush");
  return {};
}

void connection::flush_soon() {
  if (kicker_)
    kicker_->kick();
}

expected<void> connection::drain(std::chrono::milliseconds timeout) {
  if (!conn_)
    return {};
  closing_ = true;
  if (auto st = natsConnection_DrainTimeout(conn_.get(), timeout.count()); st != NATS_OK)
    return from_nats(st, "drain");
  std::unique_lock lock{mtx_};
  if (!closed_cv_.wait_for(lock, timeout, [this] { return closed_; }))
    return error{errc::timeout,
                 "drain did not finish within " + std::to_string(timeout.count()) + " ms"};
  return {};
}

void connection::close() {
  // The JetStream context stays until the destructor: other threads may still hold it (a fetch
  // thread's lookup racing an exit); on a closed connection its calls fail, nothing more.
  if (!conn_)
    return;
  closing_ = true;
  if (kicker_) // before the handle it writes to can go; flush_soon() may still be called
    kicker_->stop();
  natsConnection_Close(conn_.get());
  {
    // The closed callback runs on nats.c's callback thread and uses `this`: wait for it
    // before the object can go away.
    std::unique_lock lock{mtx_};
    closed_cv_.wait_for(lock, std::chrono::seconds{10}, [this] { return closed_; });
  }
  conn_.reset();
  opts_.reset();
}

std::string connection::lost_reason() const {
  std::lock_guard guard{mtx_};
  return lost_;
}

void connection::emit(connection_event_kind kind, std::string detail) {
  // Listeners run outside mtx_ (they may add or remove listeners) but inside emit_mtx_, which
  // remove_listener waits for: a listener is never called after its removal returned.
  std::lock_guard calling{emit_mtx_};
  std::vector<std::uint64_t> tokens;
  {
    std::lock_guard guard{mtx_};
    for (auto& [token, fn] : listeners_)
      tokens.push_back(token);
    emitting_ = std::this_thread::get_id();
  }
  connection_event ev{kind, std::move(detail)};
  for (auto token : tokens) {
    listener fn;
    {
      std::lock_guard guard{mtx_};
      auto it = listeners_.find(token);
      if (it == listeners_.end())
        continue; // removed by an earlier listener of this event
      fn = it->second;
    }
    fn(ev);
  }
  std::lock_guard guard{mtx_};
  emitting_ = {};
}

void connection::on_disconnected(natsConnection*, void* self) {
  auto* c = static_cast<connection*>(self);
  if (!c->closing_)
    SMITH_LOG(log(), warn, "nats disconnected");
  c->emit(connection_event_kind::disconnected, {});
}

void connection::on_reconnected(natsConnection*, void* self) {
  auto* c = static_cast<connection*>(self);
  c->reconnects_.fetch_add(1);
  auto url = c->connected_url();
  // The server may be another one than before (a rolling upgrade, or a first connect retried):
  // one too old is never used, and the log says why.
  if (auto ok = c->check_server(); !ok)
    SMITH_LOG(log(), error, "nats server not usable", {"url", url},
              {"error_type", to_string(ok.error().code())}, {"error", ok.error().message()});
  SMITH_LOG(log(), info, "nats connected", {"url", url});
  c->emit(connection_event_kind::reconnected, url);
}

void connection::on_closed(natsConnection* nc, void* self) {
  auto* c = static_cast<connection*>(self);
  std::string why;
  if (!c->closing_) {
    // Not asked for: nats.c gave up (it does after the same login error twice in a row), and
    // this connection will never send again. Its owner must know, and say why.
    const char* last = nullptr;
    auto st = nc != nullptr ? natsConnection_GetLastError(nc, &last) : NATS_OK;
    why = st != NATS_OK ? natsStatus_GetText(st) : "closed by the NATS library";
    if (last != nullptr && *last != '\0')
      why += std::string{": "} + last;
    // nats.c keeps the last error, not the refusal that made it stop.
    why += ". Hint: reconnecting without limit, the NATS client gives up only when the server "
           "refuses its login twice in a row: check the credentials (SMITH_NATS_USER and "
           "_PASSWORD, _TOKEN, _CREDS or _CREDS_DATA) and the server's log";
    SMITH_LOG(log(), error, "nats connection closed for good", {"error_type", "nats"},
              {"error", why});
  }
  {
    std::lock_guard guard{c->mtx_};
    c->lost_ = why;
  }
  c->emit(connection_event_kind::closed, std::move(why));
  std::lock_guard guard{c->mtx_};
  c->closed_ = true;
  c->closed_cv_.notify_all();
}

void connection::on_error(natsConnection* nc, natsSubscription*, natsStatus st, void* self) {
  auto* c = static_cast<connection*>(self);
  std::string detail = natsStatus_GetText(st);
  const char* last = nullptr;
  if (nc != nullptr && natsConnection_GetLastError(nc, &last) != NATS_OK && last != nullptr)
    detail += std::string{": "} + last;
  SMITH_LOG(log(), error, "nats async error", {"error_type", "nats"}, {"error", detail});
  c->emit(connection_event_kind::async_error, std::move(detail));
}

int64_t connection::reconnect_delay(natsConnection*, int attempts, void* self) {
  // Exponential backoff from reconnect_wait up to reconnect_wait_max, plus jitter so a fleet
  // of workers does not reconnect in lock step after a server restart.
  auto* c = static_cast<connection*>(self);
  const auto& cfg = c->cfg_;
  int64_t delay = cfg.reconnect_wait.count();
  for (int i = 1; i < attempts && delay < cfg.reconnect_wait_max.count(); ++i)
    delay *= 2;
  delay = std::min<int64_t>(delay, cfg.reconnect_wait_max.count());
  if (cfg.reconnect_jitter.count() > 0) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    delay += static_cast<int64_t>(rng() % static_cast<unsigned>(cfg.reconnect_jitter.count() + 1));
  }
  return delay;
}

expected<void> connection::send_ack(const char* reply, std::string_view body,
                                    std::string_view confirm_to) {
  natsStatus st;
  if (confirm_to.empty()) {
    st = natsConnection_Publish(native(), reply, body.data(), static_cast<int>(body.size()));
  } else {
    std::string confirm{confirm_to}; // nats.c wants it NUL-terminated
    st = natsConnection_PublishRequest(native(), reply, confirm.c_str(), body.data(),
                                       static_cast<int>(body.size()));
  }
  if (st != NATS_OK)
    return from_nats(st, "publish to " + std::string{reply});
  return {};
}

expected<void> connection::request_ack(const char* reply, std::string_view body,
                                       std::chrono::milliseconds timeout) {
  natsMsg* resp = nullptr;
  auto st = natsConnection_Request(&resp, native(), reply, body.data(),
                                   static_cast<int>(body.size()), timeout.count());
  msg_handle hold{resp};
  if (st != NATS_OK)
    return from_nats(st, "request to " + std::string{reply});
  return {};
}

} // namespace smith::transport
