#include "transport/numbered_inbox.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"
#include "transport/error.hpp"

#include <charconv>

namespace smith::transport {

expected<std::unique_ptr<numbered_inbox>> numbered_inbox::create(const connection& conn,
                                                                 handler on_reply) {
  std::unique_ptr<numbered_inbox> self{new numbered_inbox()};
  natsInbox* inbox = nullptr;
  if (auto st = natsInbox_Create(&inbox); st != NATS_OK)
    return from_nats(st, "create inbox");
  inbox_handle hold{inbox};
  self->prefix_ = std::string{inbox} + ".";
  auto wildcard = self->prefix_ + "*";
  // The handler lives on the heap until nats.c says its last call has returned (on_complete).
  auto* closure = new handler{std::move(on_reply)};
  natsSubscription* sub = nullptr;
  if (auto st = natsConnection_Subscribe(&sub, conn.native(), wildcard.c_str(), &on_msg, closure);
      st != NATS_OK) {
    delete closure;
    return from_nats(st, "subscribe to " + wildcard);
  }
  self->sub_.reset(sub);
  natsSubscription_SetOnCompleteCB(sub, &on_complete, closure);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  return self;
}

numbered_inbox::~numbered_inbox() {
  if (sub_)
    natsSubscription_Unsubscribe(sub_.get());
}

std::string numbered_inbox::reply_for(std::uint64_t n) const {
  char digits[24];
  auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), n);
  std::string reply = prefix_;
  reply.append(digits, end);
  return reply;
}

void numbered_inbox::on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  msg_handle reply{msg};
  std::string_view subject = natsMsg_GetSubject(msg);
  auto tail = subject.substr(subject.rfind('.') + 1);
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), n);
  if (ec == std::errc{} && end == tail.data() + tail.size())
    (*static_cast<handler*>(closure))(n, std::move(reply));
}

void numbered_inbox::on_complete(void* closure) {
  delete static_cast<handler*>(closure);
}

} // namespace smith::transport
