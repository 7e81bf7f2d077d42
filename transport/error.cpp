// errc names, what is retryable, and the error text. nats.c codes are converted in nats_error.cpp.
#include "transport/error.hpp"

#include <string>

namespace smith::transport {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::disconnected:
      return "disconnected";
    case errc::closed:
      return "closed";
    case errc::timeout:
      return "timeout";
    case errc::no_responders:
      return "no_responders";
    case errc::backpressure:
      return "backpressure";
    case errc::unavailable:
      return "unavailable";
    case errc::not_permitted:
      return "not_permitted";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::too_large:
      return "too_large";
    case errc::malformed:
      return "malformed";
    case errc::unsupported:
      return "unsupported";
    case errc::already_acked:
      return "already_acked";
    case errc::tls:
      return "tls";
    case errc::internal:
      return "internal";
  }
  return "unknown";
}

bool is_retryable(errc code) noexcept {
  switch (code) {
    case errc::disconnected:
    case errc::timeout:
    case errc::no_responders:
    case errc::backpressure:
    case errc::unavailable:
      return true;
    default:
      return false;
  }
}

error::error(errc code, std::string message, int nats_status, int js_code)
  : code_(code), message_(std::move(message)), nats_status_(nats_status), js_code_(js_code) {
}

std::string error::to_string() const {
  std::string out{transport::to_string(code_)};
  out += ": ";
  out += message_;
  return out;
}

} // namespace smith::transport
