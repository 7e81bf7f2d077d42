// The `smith` binary: one executable for every role and every command.
#include "services/cli/client_commands.hpp"
#include "services/cli/topology_command.hpp"
#include "services/common/signals.hpp"
#include "services/gateway/gateway_command.hpp"
#include "services/orchestrator/orchestrator_command.hpp"
#include "services/worker/worker_command.hpp"
#include "transport/library.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <stdexcept>

int main(int argc, char** argv) {
  // Block SIGTERM and SIGINT before any thread exists (nats.c starts some when it opens), so
  // every thread inherits the mask and `smith worker` and `smith orchestrator` receive them
  // through sigwait alone.
  // One-shot commands unblock them again and keep the default: terminate.
  smith::services::common::block_stop_signals();
  smith::transport::library nats;
  CLI::App app{"MisterSmith: tasks on NATS JetStream, run by supervised C++ actors.\n"
               "Connection and topology settings come from SMITH_* variables (docs/CONFIG.md)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "smith " SMITH_VERSION);
  smith::services::cli::add_topology_command(app);
  smith::services::worker::add_worker_command(app);
  smith::services::worker::add_health_command(app);
  smith::services::orchestrator::add_orchestrator_command(app);
  smith::services::gateway::add_gateway_command(app);
  smith::services::cli::add_client_commands(app);
  app.parse_complete_callback([&app] {
    if (app.got_subcommand("worker") || app.got_subcommand("orchestrator")
        || app.got_subcommand("gateway"))
      return;
    auto sigs = smith::services::common::stop_signal_set();
    pthread_sigmask(SIG_UNBLOCK, &sigs, nullptr);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the reason; its own codes (104-109) would say nothing documented: a usage
    // error exits 2 (docs/CONFIG.md), --help and --version 0.
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::invalid_argument& e) {
    // A setting read after parsing (SMITH_LOG_LEVEL, SMITH_DRAIN_TIMEOUT, SMITH_EXEC_ALLOW...).
    std::fprintf(stderr, "smith: bad configuration: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smith: %s\n", e.what());
    return 1;
  }
  return 0;
}
