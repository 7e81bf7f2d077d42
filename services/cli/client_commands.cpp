#include "services/cli/client_commands.hpp"

#include "services/cli/client.hpp"
#include "services/cli/list_commands.hpp"

namespace smith::services::cli {

void add_client_commands(CLI::App& app) {
  // With --json a usage error (a missing flag, a bad value) is JSON too, like the others.
  app.failure_message([](const CLI::App* root, const CLI::Error& e) -> std::string {
    for (const auto* cmd = root; cmd != nullptr;) {
      const auto* flag = cmd->get_option_no_throw("--json");
      if (flag != nullptr && flag->count() > 0)
        return json{{"error", "usage"}, {"detail", e.what()}}.dump(-1, ' ', false,
                                                                   json::error_handler_t::replace)
               + "\n";
      auto subs = cmd->get_subcommands();
      cmd = subs.empty() ? nullptr : subs.front();
    }
    return CLI::FailureMessage::simple(root, e);
  });
  add_submit(app);
  add_status_watch_cancel(app);
  add_queues(app);
  add_dlq(app);
  add_schedule(app);
  add_list_commands(app); // after queues and dlq: it adds to them
  add_help_examples(app); // last: the commands of the other rooms are there by now
}

} // namespace smith::services::cli
