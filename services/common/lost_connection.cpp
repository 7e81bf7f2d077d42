#include "services/common/lost_connection.hpp"

#include <atomic>

namespace smith::services::common {

lost_connection_watch::lost_connection_watch(std::shared_ptr<transport::connection> conn,
                                             std::function<void(const std::string&)> on_lost)
  : conn_(std::move(conn)) {
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto report = [once, on_lost = std::move(on_lost)](const std::string& why) {
    if (!why.empty() && !once->exchange(true))
      on_lost(why);
  };
  token_ = conn_->add_listener([report](const transport::connection_event& ev) {
    if (ev.kind == transport::connection_event_kind::closed)
      report(ev.detail);
  });
  report(conn_->lost_reason()); // lost before the listener was there
}

lost_connection_watch::~lost_connection_watch() {
  conn_->remove_listener(token_);
}

} // namespace smith::services::common
