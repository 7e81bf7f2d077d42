#include "transport/ack_confirmations.hpp"

#include "transport/connection.hpp"

namespace smith::transport {

ack_confirmations::ack_confirmations(std::shared_ptr<connection> conn,
                                     std::unique_ptr<numbered_inbox> inbox)
  : conn_(std::move(conn)), inbox_(std::move(inbox)) {
}

expected<std::unique_ptr<ack_confirmations>>
ack_confirmations::create(std::shared_ptr<connection> conn, callback on_confirmed) {
  auto inbox = numbered_inbox::create(
    *conn,
    [on_confirmed = std::move(on_confirmed)](std::uint64_t ref, msg_handle) { on_confirmed(ref); });
  if (!inbox)
    return inbox.error();
  return std::unique_ptr<ack_confirmations>{
    new ack_confirmations(std::move(conn), std::move(*inbox))};
}

ack_confirmations::~ack_confirmations() = default;

std::string ack_confirmations::reply_for(std::uint64_t ref) const {
  return inbox_->reply_for(ref);
}

} // namespace smith::transport
