// The examples in the help of the commands whose code lives outside the task commands (the
// services' own commands and the groups): every `smith ... --help` ends with one.
#include "services/cli/client.hpp"

#include <utility>
#include <vector>

namespace smith::services::cli {

namespace {

CLI::App* subcommand_named(CLI::App* parent, const std::string& name) {
  auto found = parent->get_subcommands([&](CLI::App* a) { return a->get_name() == name; });
  return found.empty() ? nullptr : found.front();
}

} // namespace

void add_help_examples(CLI::App& app) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> examples{
    {{}, "  smith submit --role execute --type echo --payload '\"hi\"' --wait"},
    {{"worker"}, "  smith worker --role execute --concurrency 8"},
    {{"health"}, "  smith health --url http://127.0.0.1:8080/health"},
    {{"orchestrator"}, "  smith orchestrator --http-host 127.0.0.1 --http-port 8080"},
    {{"gateway"}, "  smith gateway --tools deploy/gateway/tools.json --http-port 8090"},
    {{"topology"}, "  smith topology apply"},
    {{"topology", "apply"}, "  smith topology apply --json"},
    {{"dlq"}, "  smith dlq list"},
    {{"schedule"}, "  smith schedule list"},
  };
  for (const auto& [path, lines] : examples) {
    CLI::App* cmd = &app;
    for (const auto& name : path)
      cmd = cmd != nullptr ? subcommand_named(cmd, name) : nullptr;
    if (cmd == nullptr || cmd->get_footer().find("Example:") != std::string::npos)
      continue;
    auto footer = cmd->get_footer();
    cmd->footer((footer.empty() ? std::string{} : footer + "\n") + example(lines));
  }
}

} // namespace smith::services::cli
