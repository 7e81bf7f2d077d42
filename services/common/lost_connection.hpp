// Tells a service when the NATS client has closed its connection for good on its own: with
// reconnects unlimited that happens only when the server refused the login twice in a row, and
// such a connection never sends again.
#pragma once

#include "transport/connection.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace smith::services::common {

class lost_connection_watch {
public:
  /// Calls `on_lost` with the reason (connection_event_kind::closed's detail) from a nats.c
  /// thread, at most once, also when the connection was lost before the watch began. A close
  /// the process asked for (shutdown) is not a loss. `on_lost` must not block.
  lost_connection_watch(std::shared_ptr<transport::connection> conn,
                        std::function<void(const std::string&)> on_lost);
  /// Once it returns, `on_lost` is not running and is never called again.
  ~lost_connection_watch();
  lost_connection_watch(const lost_connection_watch&) = delete;
  lost_connection_watch& operator=(const lost_connection_watch&) = delete;

private:
  std::shared_ptr<transport::connection> conn_;
  std::uint64_t token_ = 0;
};

} // namespace smith::services::common
