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

  std::string submit(const tool& t, const nlohmann::json& arguments,
                     const std::string& task_id) override;
  tool_outcome wait(const std::string& task_id, std::chrono::milliseconds timeout,
                    const std::function<void(double, const std::string&)>& progress,
                    const std::function<bool()>& stop) override;
  std::optional<task_view> look(const std::string& task_id) override;
  void cancel(const std::string& task_id) override;

private:
  std::shared_ptr<transport::connection> conn_;
  std::shared_ptr<orchestrator::task_service> tasks_;
};

} // namespace smith::services::gateway
