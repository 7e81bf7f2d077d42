#include "transport/subscription.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"
#include "transport/log.hpp"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace smith::transport {

// What nats.c calls back with: the callback, what a failing one needs for its log line, and
// whether it is running, so that the subscription's destructor can wait for it to return.
struct subscription::holder {
  callback fn;
  std::string subject;
  std::atomic<bool> warned{false};
  std::mutex mtx;
  std::condition_variable idle;
  bool closed = false;    // the subscription is gone: no more calls
  bool running = false;   // a call is in progress, on `runner`
  std::thread::id runner; // meaningful while running
};

expected<std::unique_ptr<subscription>> subscription::create(std::shared_ptr<connection> conn,
                                                             const std::string& subject,
                                                             callback fn,
                                                             const std::string& queue) {
  std::unique_ptr<subscription> self{new subscription};
  self->conn_ = std::move(conn);
  self->holder_ = std::make_shared<holder>();
  self->holder_->fn = std::move(fn);
  self->holder_->subject = subject;
  // nats.c may still run the callback on its delivery thread after Unsubscribe returns: its
  // closure shares the holder until nats.c says it is done with it (on_complete).
  auto* closure = new std::shared_ptr<holder>{self->holder_};
  natsSubscription* raw = nullptr;
  auto st =
    queue.empty()
      ? natsConnection_Subscribe(&raw, self->conn_->native(), subject.c_str(), on_message, closure)
      : natsConnection_QueueSubscribe(&raw, self->conn_->native(), subject.c_str(), queue.c_str(),
                                      on_message, closure);
  if (st != NATS_OK) {
    delete closure;
    return from_nats(st, "subscribe to " + subject);
  }
  self->sub_.reset(raw);
  if (natsSubscription_SetOnCompleteCB(raw, on_complete, closure) != NATS_OK)
    self->conn_->keep_alive(std::shared_ptr<std::shared_ptr<holder>>{closure}); // with the conn
  // Events can come in bursts (every result of a busy deployment): raise the default limits.
  natsSubscription_SetPendingLimits(raw, 1'000'000, 1024 * 1024 * 1024);
  return self;
}

void subscription::on_complete(void* closure) {
  delete static_cast<std::shared_ptr<holder>*>(closure);
}

subscription::~subscription() {
  if (sub_)
    natsSubscription_Unsubscribe(sub_.get());
  if (!holder_)
    return;
  // A callback may capture what its owner destroys next (locals of the function that made the
  // subscription): no call runs, nor starts, once this returns. From inside its own callback
  // the destructor cannot wait for itself; the call in progress is then the last one.
  std::unique_lock lock{holder_->mtx};
  holder_->closed = true;
  if (holder_->running && holder_->runner == std::this_thread::get_id())
    return; // destroyed by its own callback: the call in progress is the last
  holder_->idle.wait(lock, [&] { return !holder_->running; });
  auto last = std::move(holder_->fn); // what it captured goes now, not on a nats.c thread
  lock.unlock();
}

void subscription::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  msg_handle hold{msg};
  auto& h = **static_cast<std::shared_ptr<holder>*>(closure);
  {
    std::lock_guard guard{h.mtx};
    if (h.closed)
      return;
    h.running = true;
    h.runner = std::this_thread::get_id();
  }
  struct done_guard {
    holder& h;
    ~done_guard() {
      {
        std::lock_guard guard{h.mtx};
        h.running = false;
      }
      h.idle.notify_all();
    }
  } done{h};
  const char* reply = natsMsg_GetReply(msg);
  core_message m{
    natsMsg_GetSubject(msg), reply != nullptr ? reply : "",
    std::string_view{natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))}};
  // Anyone may publish on the subjects we listen to: a message a callback cannot take must not
  // end the process (an exception out of a nats.c thread is std::terminate). Logged the first
  // time for each subscription, so a flood of them cannot flood the log.
  std::string why;
  try {
    h.fn(m);
    return;
  } catch (const std::exception& e) {
    why = e.what();
  } catch (...) {
    why = "unknown exception";
  }
  if (!h.warned.exchange(true))
    SMITH_LOG(log(), warn,
              "a message on this subscription could not be handled and was dropped (logged once "
              "per subscription)",
              {"subscription", h.subject}, {"subject", m.subject}, {"error_type", "bad_message"},
              {"error", why});
}

expected<void> publish_core(const connection& conn, const std::string& subject,
                            std::string_view data, const std::string& reply) {
  auto st = reply.empty()
              ? natsConnection_Publish(conn.native(), subject.c_str(), data.data(),
                                       static_cast<int>(data.size()))
              : natsConnection_PublishRequest(conn.native(), subject.c_str(), reply.c_str(),
                                              data.data(), static_cast<int>(data.size()));
  if (st != NATS_OK)
    return from_nats(st, "publish to " + subject);
  return {};
}

} // namespace smith::transport
