// nats.c's natsStatus and jsErrCode as our error type: the only conversion there is.
#pragma once

#include "transport/error.hpp"

#include <string_view>

namespace smith::transport {

/// Converts a natsStatus (and the JetStream error code, when the call returns one) into an
/// error. `what` names the operation and its values, e.g. "publish to smith.task.compile.x".
/// Reads nats.c's thread-local last error text for the detail.
error from_nats(int status, std::string_view what, int js_code = 0);

} // namespace smith::transport

/// In a function returning expected<...>: returns the error of a nats.c call that failed.
#define SMITH_TRY(call, what)                                                                      \
  if (natsStatus st_ = (call); st_ != NATS_OK)                                                     \
  return ::smith::transport::from_nats(st_, what)
