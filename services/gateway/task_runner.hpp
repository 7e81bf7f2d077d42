// The tool_runner of `smith gateway`: a tool call is a task submitted through the task service
// (the API's own checks and idempotency), followed to its result over NATS.
#pragma once

#include "services/gateway/mcp_protocol.hpp"
#include "services/orchestrator/task_service.hpp"

#include <memory>

namespace smith::services::gateway {

class task_runner final : public tool_runner {
public:
  task_runner(std::shared_ptr<transport::connection> conn,
              std::shared_ptr<orchestrator::task_service> tasks);

  /// Submits the task (a non-empty `call_key` makes its id, so a retried call is the same
  /// task), then waits for its result up to the tool's timeout, passing on its progress events;
  /// cancels the task when `cancelled()` turns true.
  tool_outcome run(const tool& t, const nlohmann::json& arguments, const std::string& call_key,
                   const std::function<void(double, const std::string&)>& progress,
                   const std::function<bool()>& cancelled) override;

private:
  std::shared_ptr<transport::connection> conn_;
  std::shared_ptr<orchestrator::task_service> tasks_;
};

} // namespace smith::services::gateway
