// The roles a deployment serves: SMITH_ROLES plus those its workers declared by creating their
// consumers (docs/API.md, "Roles"); and purging a role's queued tasks.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "services/orchestrator/submit_request.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/stream_admin.hpp"
#include "transport/stream_reader.hpp"

#include <algorithm>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;

std::vector<std::string> task_service::known_roles() {
  auto roles = topo_.roles;
  auto listed = tp::consumer_names(*conn_, names_.tasks_stream());
  // No tasks stream yet (the topology is not applied), or a NATS user that may not list its
  // consumers (docs/DEPLOY-LOCAL.md's smith-client, the gateway): SMITH_ROLES only.
  if (!listed
      && (listed.error().code() == tp::errc::not_found
          || listed.error().code() == tp::errc::not_permitted))
    return roles;
  auto consumers = must(std::move(listed), "list the consumers of " + names_.tasks_stream());
  std::sort(consumers.begin(), consumers.end());
  const std::string prefix = tp::wire::subjects::consumer("");
  for (const auto& c : consumers) {
    if (!c.starts_with(prefix) || c.size() == prefix.size())
      continue;
    auto role = c.substr(prefix.size());
    if (std::find(roles.begin(), roles.end(), role) == roles.end())
      roles.push_back(std::move(role));
  }
  return roles;
}

void task_service::check_role(const std::string& role) {
  check_token(role, "role");
  if (std::find(topo_.roles.begin(), topo_.roles.end(), role) != topo_.roles.end())
    return;
  check_known_role(role, known_roles());
}

const tp::topology_config& task_service::topology_for(const json& req,
                                                      std::optional<tp::topology_config>& tmp) {
  if (!req.is_object())
    return topo_;
  auto it = req.find("role");
  if (it == req.end() || !it->is_string())
    return topo_;
  const auto& role = it->get_ref<const std::string&>();
  if (std::find(topo_.roles.begin(), topo_.roles.end(), role) != topo_.roles.end())
    return topo_;
  // Only a role SMITH_ROLES does not list costs a look at the consumers.
  tmp = topo_;
  tmp->roles = known_roles();
  return *tmp;
}

json task_service::queue_purge(const std::string& role) {
  check_role(role);
  auto stream = names_.tasks_stream();
  auto filter = names_.task_filter(role);
  auto durable = tp::wire::subjects::consumer(role);
  auto info = must(tp::consumer_info(*conn_, stream, durable), "read consumer " + durable);
  std::uint64_t purged = 0;
  if (info.num_ack_pending == 0) {
    // Nothing delivered is waiting for its ack: every task of the role in the stream is queued,
    // and one purge removes them all.
    purged = must(tp::purge_filter(*conn_, stream, filter), "purge the queue of " + role);
  } else {
    // Tasks in flight stay (their workers run them): only those after the last delivered one
    // go, one by one, from the oldest queued on.
    auto from = info.delivered_stream_seq + 1;
    for (;;) {
      auto m = must(tp::next_message(*conn_, stream, from, filter), "read the queue of " + role);
      if (!m)
        break;
      from = m->sequence + 1;
      if (must(tp::delete_message(*conn_, stream, m->sequence), "remove a task of " + role))
        ++purged;
    }
  }
  return {{"role", role}, {"purged", purged}};
}

} // namespace smith::services::orchestrator
