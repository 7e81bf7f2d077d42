// Where a delivered message's acknowledgements go: the connection it arrived on, or, in tests
// of the layers above, a recorder, so they run without a server.
#pragma once

#include "transport/expected.hpp"

#include <chrono>
#include <string_view>

namespace smith::transport {

class ack_sink {
public:
  virtual ~ack_sink() = default;

  /// Publishes `body` (+ACK, -NAK, +TERM, +WPI) to the message's `reply` subject (NUL-terminated,
  /// as nats.c keeps it); with
  /// `confirm_to`, the server confirms there once it has taken it.
  virtual expected<void> send_ack(const char* reply, std::string_view body,
                                  std::string_view confirm_to) = 0;

  /// Publishes `body` to `reply` and waits up to `timeout` for the server's answer.
  virtual expected<void> request_ack(const char* reply, std::string_view body,
                                     std::chrono::milliseconds timeout) = 0;
};

} // namespace smith::transport
