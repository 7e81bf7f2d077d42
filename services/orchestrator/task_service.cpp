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

task_service::task_service(std::shared_ptr<tp::connection> conn, tp::topology_config topo,
                           const task_tracker* tracker)
  : conn_(std::move(conn)), topo_(std::move(topo)), names_(topo_.prefix), tracker_(tracker) {
  pub_ = must(tp::publisher::create(conn_, {}), "create a publisher");
}

void task_service::check_role(const std::string& role) const {
  if (std::find(topo_.roles.begin(), topo_.roles.end(), role) != topo_.roles.end())
    return;
  std::string known;
  for (const auto& r : topo_.roles)
    known += (known.empty() ? "" : ", ") + r;
  throw api_error(400, "unknown_role",
                  "role \"" + role + "\" is not served here; known roles: " + known
                    + ". Hint: SMITH_ROLES lists them");
}

} // namespace smith::services::orchestrator
