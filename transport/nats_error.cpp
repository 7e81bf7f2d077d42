// The one place where nats.c status codes and JetStream error codes become errc values.
#include "transport/nats_error.hpp"

#include <nats/nats.h>

#include <string>

namespace smith::transport {

namespace {

constexpr int js_schedule_pattern_invalid = 10189;   // "message schedules pattern is invalid"
constexpr int js_schedule_time_zone_invalid = 10223; // "... time zone is invalid"

errc from_js_code(int js_code) {
  switch (js_code) {
    case JSClusterNotAvailErr:
    case JSClusterNotLeaderErr:
    case JSClusterIncompleteErr:
    case JSClusterNoPeersErr:
    case JSClusterNotAssignedErr:
    case JSRaftGeneralErr:
    case JSInsufficientResourcesErr:
    case JSStreamStoreFailedErr:
      return errc::unavailable;
    case JSStreamNotFoundErr:
    case JSConsumerNotFoundErr:
    case JSNoMessageFoundErr:
    case JSSequenceNotFoundErr:
      return errc::not_found;
    case JSStreamMessageExceedsMaximumErr:
      return errc::too_large;
    case JSStreamNameExistErr:
    case JSConsumerNameExistErr:
    case JSStreamSubjectOverlapErr:
    case JSStreamReplicasNotUpdatableErr:
    case JSStreamMirrorNotUpdatableErr:
      return errc::conflict;
    case JSBadRequestErr:
    case JSStreamInvalidConfig:
    case JSInvalidJSONErr:
    case JSConsumerCreateErr:
    case JSStreamCreateErr:
    case JSStreamUpdateErr:
    // Newer than nats.c 3.4.1's list: a message schedule the server cannot parse (its pattern,
    // or its time zone).
    case js_schedule_pattern_invalid:
    case js_schedule_time_zone_invalid:
      return errc::invalid_argument;
    case JSNotEnabledErr:
    case JSNotEnabledForAccountErr:
      return errc::not_permitted;
    default:
      return errc::internal;
  }
}

errc from_status(natsStatus status) {
  switch (status) {
    case NATS_CONNECTION_CLOSED:
      return errc::closed;
    case NATS_IO_ERROR:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_DRAINING:
      return errc::disconnected;
    case NATS_TIMEOUT:
    case NATS_MISSED_HEARTBEAT:
      return errc::timeout;
    case NATS_NO_RESPONDERS:
      return errc::no_responders;
    case NATS_SLOW_CONSUMER:
      return errc::backpressure;
    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
      return errc::not_permitted;
    case NATS_NOT_FOUND:
      return errc::not_found;
    case NATS_MAX_PAYLOAD:
      return errc::too_large;
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED:
    case NATS_SSL_ERROR:
      return errc::tls;
    case NATS_ADDRESS_MISSING:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBSCRIPTION:
    case NATS_INVALID_TIMEOUT:
    case NATS_INVALID_QUEUE_NAME:
    case NATS_ILLEGAL_STATE:
      return errc::invalid_argument;
    default:
      return errc::internal;
  }
}

} // namespace

error from_nats(int status, std::string_view what, int js_code) {
  auto st = static_cast<natsStatus>(status);
  // nats.c reports "no responders" on a JetStream call as jsErrCode 10076 (not enabled), but
  // during a leader election or a restart it is passing: the transport status decides first.
  auto code = (js_code != 0 && (st == NATS_ERR || st == NATS_NOT_FOUND)) ? from_js_code(js_code)
                                                                         : from_status(st);
  std::string msg{what};
  msg += " failed: ";
  msg += natsStatus_GetText(st);
  // nats.c's last error reads "(conn.c:2088): <text>"; keep the text when it adds something.
  if (const char* last = nats_GetLastError(nullptr); last != nullptr) {
    std::string_view detail{last};
    if (detail.starts_with('('))
      if (auto pos = detail.find("): "); pos != std::string_view::npos)
        detail.remove_prefix(pos + 3);
    if (!detail.empty() && detail != natsStatus_GetText(st)) {
      msg += " (";
      msg += detail;
      msg += ')';
    }
  }
  if (js_code != 0) {
    msg += " [jetstream error ";
    msg += std::to_string(js_code);
    msg += ']';
  }
  return error{code, std::move(msg), status, js_code};
}

} // namespace smith::transport
