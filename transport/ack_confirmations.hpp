// Confirmed acknowledgements ("double acks"): an ack or term sent with a reply subject is
// answered by the server once it has taken it. One subscription per process part collects
// those answers and names the reference each was sent with.
#pragma once

#include "transport/expected.hpp"
#include "transport/numbered_inbox.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace smith::transport {

class connection;

class ack_confirmations {
public:
  /// Called on a nats.c thread with the reference of each confirmed ack: keep it short.
  using callback = std::function<void(std::uint64_t ref)>;

  static expected<std::unique_ptr<ack_confirmations>> create(std::shared_ptr<connection> conn,
                                                             callback on_confirmed);

  ~ack_confirmations();

  ack_confirmations(const ack_confirmations&) = delete;
  ack_confirmations& operator=(const ack_confirmations&) = delete;

  /// The reply subject to pass to message::ack / message::term for reference `ref`.
  std::string reply_for(std::uint64_t ref) const;

private:
  ack_confirmations(std::shared_ptr<connection> conn, std::unique_ptr<numbered_inbox> inbox);

  std::shared_ptr<connection> conn_;
  std::unique_ptr<numbered_inbox> inbox_;
};

} // namespace smith::transport
