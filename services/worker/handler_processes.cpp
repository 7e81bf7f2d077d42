#include "services/worker/handler_processes.hpp"

#include "actors/handlers/role_policy.hpp"
#include "services/worker/log.hpp"

#include <caf/all.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace smith::services::worker {

namespace ah = actors::handlers;

namespace {

// The worker's environment less what only the worker may know: the NATS connection's secrets and
// settings, and the API token.
std::vector<std::string> handler_environment(const std::string& role) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view item{*e};
    if (item.starts_with("SMITH_NATS_") || item.starts_with("SMITH_API_TOKEN")
        || item.starts_with("SMITH_HANDLER_PROTOCOL=") || item.starts_with("SMITH_ROLE="))
      continue;
    env.emplace_back(item);
  }
  env.emplace_back("SMITH_HANDLER_PROTOCOL=1");
  env.emplace_back("SMITH_ROLE=" + role);
  return env;
}

} // namespace

void add_handler_process_options(CLI::App* cmd, handler_process_options& o) {
  cmd
    ->add_option("--handler-process", o.command,
                 "Run every task in long-lived handler processes of this command, e.g. "
                 "'python3 -m my_handlers' (docs/HANDLER-PROTOCOL.md)")
    ->envname("SMITH_HANDLER_PROCESS");
  cmd
    ->add_option("--handler-processes", o.processes,
                 "How many handler processes (default: --concurrency)")
    ->envname("SMITH_HANDLER_PROCESSES");
}

std::shared_ptr<ah::process_pool> make_handler_pool(const handler_process_options& o,
                                                    const std::string& role, int concurrency) {
  if (o.command.empty())
    return nullptr;
  if (o.processes < 0 || o.processes > 1024)
    throw std::invalid_argument("--handler-processes/SMITH_HANDLER_PROCESSES must be 1 to 1024");
  ah::process_pool_config cfg;
  const char* path = std::getenv("PATH");
  cfg.argv = ah::handler_command(o.command, path == nullptr ? "/usr/bin:/bin" : path, cfg.path);
  cfg.env = handler_environment(role);
  cfg.cwd = std::filesystem::current_path();
  cfg.limits = ah::exec_limits_from_env();
  cfg.processes = static_cast<std::size_t>(o.processes > 0 ? o.processes : concurrency);
  cfg.on_stderr = [](pid_t pid, std::string_view line) {
    SMITH_LOG(log(), info, "handler stderr", {"pid", pid}, {"line", line});
  };
  cfg.on_log = [](pid_t pid, std::string_view id, std::string_view level, std::string_view text) {
    if (level == "error")
      SMITH_LOG(log(), error, "handler log", {"pid", pid}, {"task", id}, {"text", text});
    else if (level == "warn")
      SMITH_LOG(log(), warn, "handler log", {"pid", pid}, {"task", id}, {"text", text});
    else if (level == "debug")
      SMITH_LOG(log(), debug, "handler log", {"pid", pid}, {"task", id}, {"text", text});
    else
      SMITH_LOG(log(), info, "handler log", {"pid", pid}, {"task", id}, {"text", text});
  };
  return std::make_shared<ah::process_pool>(std::move(cfg));
}

actors::supervisor_config
handler_process_supervisor(const std::shared_ptr<ah::process_pool>& pool,
                           actors::restart_intensity intensity,
                           std::function<void(const std::string&)> on_give_up) {
  actors::supervisor_config sc;
  sc.name = "handler-processes";
  sc.intensity = intensity;
  sc.on_give_up = std::move(on_give_up);
  for (std::size_t i = 0; i < pool->config().processes; ++i)
    sc.children.push_back(
      {"handler-process-" + std::to_string(i), [pool, i](caf::local_actor* parent) {
         // A thread of its own: serve() blocks for the process's life. Its death is this
         // actor's (an error: the supervisor starts it again); the pool stopping ends it normally.
         return parent->spawn<caf::detached>([pool, i](caf::blocking_actor* self) {
           auto why = pool->serve(i);
           if (!why.empty()) {
             SMITH_LOG(log(), warn, "handler process ended", {"slot", i}, {"error", why});
             self->fail_state(caf::make_error(caf::sec::runtime_error, why));
           }
         });
       }});
  return sc;
}

std::optional<std::string> secret_file_refused(const transport::connection_config& cc,
                                               const std::map<std::string, std::string>& allow,
                                               bool handler_processes) {
  if (allow.empty() && !handler_processes)
    return std::nullopt;
  for (const auto& [var, path] :
       {std::pair<std::string, const std::string&>{"SMITH_NATS_CREDS", cc.credentials_file},
        {"SMITH_NATS_TLS_KEY", cc.tls_key}}) {
    if (path.empty())
      continue;
    std::string why = var;
    why += "=" + path + ": the worker's ";
    if (handler_processes) {
      why += "handler processes";
    } else {
      why += "exec programs (";
      for (auto it = allow.begin(); it != allow.end(); ++it)
        why += (it == allow.begin() ? "" : ", ") + it->first;
      why += ")";
    }
    why += " could read this file, as they run with the worker's uid; give its content in ";
    why += var + "_DATA instead";
    return why;
  }
  return std::nullopt;
}

} // namespace smith::services::worker
