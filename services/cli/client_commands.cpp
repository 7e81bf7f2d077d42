#include "services/cli/client_commands.hpp"

#include "services/cli/client.hpp"

namespace smith::services::cli {

void add_client_commands(CLI::App& app) {
  add_submit(app);
  add_status_watch_cancel(app);
  add_queues(app);
  add_dlq(app);
  add_schedule(app);
}

} // namespace smith::services::cli
