// The task service: its connection, publisher and the roles it serves.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"

#include <algorithm>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;
using std::chrono::milliseconds;

std::string state_of(const tp::wire::result& r) {
  if (r.status)
    return *r.status;
  return r.ok ? "succeeded" : "failed";
}

tp::expected<tp::publish_ack> task_service::publish_for_request(const tp::outgoing& msg,
                                                                const std::string& id,
                                                                const std::string& again) {
  // What nats.c buffers while disconnected goes out when NATS is back: after this request was
  // answered with an error.
  if (!conn_->connected())
    throw api_error(503, "unavailable",
                    "NATS is unreachable, so nothing was sent. Hint: retry when NATS is back");
  auto ack = pub_->publish(msg, api_timeout);
  // Sent, and the stream's answer did not come: stored, or not, or still in the reconnect
  // buffer after a disconnect in between. Only asking again with the same id can tell.
  if (!ack && ack.error().code() == tp::errc::timeout)
    throw api_error(504, "outcome_unknown",
                    "\"" + id + "\" was sent, but NATS did not confirm it within "
                      + std::to_string(api_timeout.count())
                      + " ms: it may or may not be stored. Hint: " + again,
                    id);
  return ack;
}

task_service::task_service(std::shared_ptr<tp::connection> conn, tp::topology_config topo,
                           const task_tracker* tracker)
  : conn_(std::move(conn)), topo_(std::move(topo)), names_(topo_.prefix), tracker_(tracker) {
  pub_ = must(tp::publisher::create(conn_, {}), "create a publisher");
  if (tracker_ != nullptr) // only then is a task ever left to its worker to cancel
    finisher_ = std::make_unique<cancel_finisher>(cancel_grace, [this](const auto& e) {
      if (!final_state(e.id))
        store_result(e.role, cancelled_result(e.id), e.task_seq);
    });
}

} // namespace smith::services::orchestrator
