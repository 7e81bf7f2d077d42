// What every task command shares: the API client (to an orchestrator with --api, or the same
// routes in-process over NATS), exit codes, following a task, printing.
#pragma once

#include "services/common/http_server.hpp"
#include "services/orchestrator/task_service.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace smith::services::cli {

using json = nlohmann::json;

// Exit codes of the client commands (docs/API.md).
constexpr int exit_ok = 0;
constexpr int exit_task_failed = 1; // the task ended failed, dead or cancelled
constexpr int exit_bad_request = 2; // the request was refused (4xx) or the flags are wrong
constexpr int exit_unavailable = 3; // NATS or the orchestrator could not be reached (5xx)
constexpr int exit_timed_out = 4;   // --timeout passed before the task ended (it goes on)

struct client_options {
  std::string api;   // orchestrator URL; empty: talk to NATS directly
  std::string token; // bearer token for --api
  bool json_out = false;
};

// Where a command ended: its exit code, after one line on stderr for errors.
struct command_exit {
  int code;
};

/// Writes "smith: <line>" to stderr and ends the command with `code`.
[[noreturn]] void die(int code, const std::string& line);

// Sends one API request, to the orchestrator (--api) or in-process through the same routes
// over a direct NATS connection. Errors end the command.
class client {
public:
  explicit client(client_options o);
  ~client();

  json call(const std::string& method, const std::string& path, const json& body = nullptr);

private:
  common::http_reply direct(const std::string& method, const std::string& path, const json& body);
  common::http_reply remote(const std::string& method, const std::string& path, const json& body);

  client_options o_;
  std::unique_ptr<orchestrator::task_service> service_;
};

void add_client_options(CLI::App* cmd, const std::shared_ptr<client_options>& o);

std::string read_all(std::istream& in);

bool final_state(const std::string& s);

/// 0 for a succeeded task, 1 otherwise.
int exit_for(const json& status);

/// The task's output, decoded from base64 when it is not UTF-8.
std::string output_of(const json& status);

/// Polls a task's status until it ends, reporting each change through `on_change`.
json follow(client& c, const std::string& id, std::chrono::milliseconds timeout,
            const std::function<void(const json&)>& on_change);

/// One line (or a progress bar on a terminal) per change of a followed task.
void show_change(const json& s, bool as_json, bool bar);

void print_status(const json& s);

/// A duration flag ("500ms", "2s", "1m"); empty is 0; a bad one ends the command.
std::chrono::milliseconds duration_flag(const std::string& name, const std::string& text);

/// Runs a command body and turns its exit code (or a die()) into CLI11's RuntimeError.
template <class Fn>
void run(Fn&& fn) {
  int code = exit_ok;
  try {
    code = fn();
  } catch (const command_exit& e) {
    code = e.code;
  }
  throw CLI::RuntimeError(code);
}

// -- the commands (one file each) ---------------------------------------------------------

void add_submit(CLI::App& app);
void add_status_watch_cancel(CLI::App& app);
void add_queues(CLI::App& app);
void add_dlq(CLI::App& app);
void add_schedule(CLI::App& app);

} // namespace smith::services::cli
