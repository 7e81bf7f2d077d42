// `smith health`: the container health check, a GET of a worker's /health without curl.
#include "services/common/http_server.hpp"
#include "services/worker/worker_command.hpp"

#include <cstdio>
#include <memory>
#include <string>

namespace smith::services::worker {

void add_health_command(CLI::App& app) {
  auto url = std::make_shared<std::string>("http://127.0.0.1:8080/health");
  auto* cmd = app.add_subcommand("health", "Exit 0 when /health answers 200, else 1");
  cmd->add_option("--url", *url, "Health URL")->capture_default_str();
  cmd->callback([url] {
    auto status = common::http_get_status(*url, 2000);
    if (status != 200)
      std::fprintf(stderr, "smith health: %s answered %d\n", url->c_str(), status);
    throw CLI::RuntimeError(status == 200 ? 0 : 1);
  });
}

} // namespace smith::services::worker
