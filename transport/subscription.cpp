#include "transport/subscription.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"
#include "transport/log.hpp"

#include <atomic>
#include <exception>

namespace smith::transport {

namespace {

// What nats.c calls back with: the callback, and what a failing one needs for its log line.
struct holder {
  subscription::callback fn;
  std::string subject;
  std::atomic<bool> warned{false};
};

} // namespace

expected<std::unique_ptr<subscription>> subscription::create(std::shared_ptr<connection> conn,
                                                             const std::string& subject,
                                                             callback fn,
                                                             const std::string& queue) {
  std::unique_ptr<subscription> self{new subscription};
  self->conn_ = std::move(conn);
  // nats.c may still run the callback on its delivery thread after Unsubscribe returns: the
  // subscription owns its callback until nats.c says it is done with it (on_complete).
  auto* h = new holder{std::move(fn), subject};
  natsSubscription* raw = nullptr;
  auto st =
    queue.empty()
      ? natsConnection_Subscribe(&raw, self->conn_->native(), subject.c_str(), on_message, h)
      : natsConnection_QueueSubscribe(&raw, self->conn_->native(), subject.c_str(), queue.c_str(),
                                      on_message, h);
  if (st != NATS_OK) {
    delete h;
    return from_nats(st, "subscribe to " + subject);
  }
  self->sub_.reset(raw);
  if (natsSubscription_SetOnCompleteCB(raw, on_complete, h) != NATS_OK)
    self->conn_->keep_alive(std::shared_ptr<holder>{h}); // freed with the connection
  // Events can come in bursts (every result of a busy deployment): raise the default limits.
  natsSubscription_SetPendingLimits(raw, 1'000'000, 1024 * 1024 * 1024);
  return self;
}

void subscription::on_complete(void* closure) {
  delete static_cast<holder*>(closure);
}

subscription::~subscription() {
  if (sub_)
    natsSubscription_Unsubscribe(sub_.get());
}

void subscription::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  msg_handle hold{msg};
  auto& h = *static_cast<holder*>(closure);
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
