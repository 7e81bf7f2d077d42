#include "transport/subscription.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"

namespace smith::transport {

expected<std::unique_ptr<subscription>> subscription::create(std::shared_ptr<connection> conn,
                                                             const std::string& subject,
                                                             callback fn,
                                                             const std::string& queue) {
  std::unique_ptr<subscription> self{new subscription};
  self->conn_ = std::move(conn);
  // nats.c may still run the callback on its delivery thread after Unsubscribe returns: the
  // subscription owns its callback until nats.c says it is done with it (on_complete).
  auto* holder = new callback(std::move(fn));
  natsSubscription* raw = nullptr;
  auto st =
    queue.empty()
      ? natsConnection_Subscribe(&raw, self->conn_->native(), subject.c_str(), on_message, holder)
      : natsConnection_QueueSubscribe(&raw, self->conn_->native(), subject.c_str(), queue.c_str(),
                                      on_message, holder);
  if (st != NATS_OK) {
    delete holder;
    return from_nats(st, "subscribe to " + subject);
  }
  self->sub_.reset(raw);
  if (natsSubscription_SetOnCompleteCB(raw, on_complete, holder) != NATS_OK)
    self->conn_->keep_alive(std::shared_ptr<callback>{holder}); // freed with the connection
  // Events can come in bursts (every result of a busy deployment): raise the default limits.
  natsSubscription_SetPendingLimits(raw, 1'000'000, 1024 * 1024 * 1024);
  return self;
}

void subscription::on_complete(void* closure) {
  delete static_cast<callback*>(closure);
}

subscription::~subscription() {
  if (sub_)
    natsSubscription_Unsubscribe(sub_.get());
}

void subscription::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  msg_handle hold{msg};
  const auto& fn = *static_cast<callback*>(closure);
  const char* reply = natsMsg_GetReply(msg);
  core_message m{
    natsMsg_GetSubject(msg), reply != nullptr ? reply : "",
    std::string_view{natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))}};
  fn(m);
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
