// The one error type of the transport layer: nats.c's natsStatus and jsErrCode become an errc
// here, each marked retryable or not, so callers decide on retries without knowing nats.c.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smith::transport {

/// What went wrong, at the level a caller acts on. Each value says whether a retry can help.
enum class errc : std::uint8_t {
  /// Not connected right now; the client reconnects by itself. Retryable.
  disconnected,
  /// The connection is closed for good (shut down, or reconnecting gave up). Not retryable.
  closed,
  /// No answer in time: a request, a publish ack, a pull. Retryable.
  timeout,
  /// Nobody answers on the subject: JetStream still starting, or no stream leader yet. Retryable.
  no_responders,
  /// Too many asynchronous publishes wait for their acks; retry once acks come back. Retryable.
  backpressure,
  /// JetStream reports a temporary state (no quorum, leader change, store busy). Retryable.
  unavailable,
  /// The server refused: authorization or subject permissions. Not retryable.
  not_permitted,
  /// The stream, consumer or message does not exist. Not retryable.
  not_found,
  /// A declared stream or consumer differs from the server's in a field that cannot change
  /// in place. Not retryable.
  conflict,
  /// A bad argument or configuration value. Not retryable.
  invalid_argument,
  /// A message is larger than the server or the stream accepts. Not retryable.
  too_large,
  /// A body or header that does not decode as the wire format says. Not retryable.
  malformed,
  /// The message was already acknowledged (ack, nak or term) through this handle. Not retryable.
  already_acked,
  /// TLS material or credentials could not be loaded or were refused. Not retryable.
  tls,
  /// The server is older than what is asked of it needs. Not retryable.
  unsupported,
  /// Anything else the library or the server reported. Not retryable.
  internal,
};

/// Returns the name of `code`, as it appears in logs (`error_type`).
std::string_view to_string(errc code) noexcept;

/// Returns whether an operation that failed with `code` can succeed when tried again.
bool is_retryable(errc code) noexcept;

/// An error with its cause: what happened, with which value, and what to do.
class error {
public:
  error(errc code, std::string message, int nats_status = 0, int js_code = 0);

  // -- properties -------------------------------------------------------------------------------

  errc code() const noexcept {
    return code_;
  }

  const std::string& message() const noexcept {
    return message_;
  }

  bool retryable() const noexcept {
    return is_retryable(code_);
  }

  /// The natsStatus this error came from, 0 (NATS_OK) when it did not come from nats.c.
  int nats_status() const noexcept {
    return nats_status_;
  }

  /// The JetStream API error code (jsErrCode), 0 when there was none.
  int js_code() const noexcept {
    return js_code_;
  }

  /// Returns "<errc>: <message>".
  std::string to_string() const;

private:
  errc code_;
  std::string message_;
  int nats_status_;
  int js_code_;
};

} // namespace smith::transport
