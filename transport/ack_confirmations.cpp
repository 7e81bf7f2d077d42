#include "transport/ack_confirmations.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"
#include "transport/error.hpp"

#include <charconv>

namespace smith::transport {

ack_confirmations::ack_confirmations(std::shared_ptr<connection> conn) : conn_(std::move(conn)) {
}

expected<std::unique_ptr<ack_confirmations>>
ack_confirmations::create(std::shared_ptr<connection> conn, callback on_confirmed) {
  std::unique_ptr<ack_confirmations> self{new ack_confirmations(std::move(conn))};
  natsInbox* inbox = nullptr;
  if (auto st = natsInbox_Create(&inbox); st != NATS_OK)
    return from_nats(st, "create inbox");
  inbox_handle hold{inbox};
  self->inbox_ = inbox;
  auto wildcard = self->inbox_ + ".*";
  // The callback lives on the heap until nats.c says the last message handler has returned
  // (on_complete), so destroying this object never races a confirmation being handled.
  auto* closure = new callback{std::move(on_confirmed)};
  natsSubscription* sub = nullptr;
  if (auto st =
        natsConnection_Subscribe(&sub, self->conn_->native(), wildcard.c_str(), &on_msg, closure);
      st != NATS_OK) {
    delete closure;
    return from_nats(st, "subscribe to " + wildcard);
  }
  self->sub_.reset(sub);
  natsSubscription_SetOnCompleteCB(sub, &on_complete, closure);
  // One small reply per task in flight: never drop one as a slow consumer.
  natsSubscription_SetPendingLimits(sub, -1, -1);
  return self;
}

ack_confirmations::~ack_confirmations() {
  if (sub_)
    natsSubscription_Unsubscribe(sub_.get());
}

std::string ack_confirmations::reply_for(std::uint64_t ref) const {
  return inbox_ + "." + std::to_string(ref);
}

void ack_confirmations::on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  msg_handle hold{msg};
  std::string_view subject = natsMsg_GetSubject(msg);
  auto dot = subject.rfind('.');
  if (dot == std::string_view::npos)
    return;
  auto tail = subject.substr(dot + 1);
  std::uint64_t ref = 0;
  auto [ptr, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), ref);
  if (ec == std::errc{} && ptr == tail.data() + tail.size())
    (*static_cast<callback*>(closure))(ref);
}

void ack_confirmations::on_complete(void* closure) {
  delete static_cast<callback*>(closure);
}

} // namespace smith::transport
