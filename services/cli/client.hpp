// What every task command shares: the API client (to an orchestrator with --api, or the same
// routes in-process over NATS), exit codes, following a task, printing.
#pragma once

#include "services/cli/display.hpp"
#include "services/common/http_server.hpp"
#include "services/orchestrator/task_service.hpp"
#include "transport/connection.hpp"
#include "transport/subscription.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

/// Ends the command with `code` after one line on stderr: "smith: <line>", or with --json the
/// object {"error": <error>, "detail": <line>}. `error` is the API's code when the API refused;
/// empty: the code for `code` (usage, task_failed, unavailable, timed_out).
[[noreturn]] void die(int code, const std::string& line, const std::string& error = {});

/// Whether the command runs with --json (its errors are then JSON too).
bool json_errors();

/// The error code of an exit code: usage, task_failed, unavailable, timed_out.
std::string error_code_for(int code);

/// --api URL: http(s)://host[:port][/prefix]; requests go to <prefix>/v1/... .
struct api_url {
  std::string base;   ///< scheme://host[:port]
  std::string prefix; ///< "" or "/path", without a trailing slash
};

/// Parses --api; a malformed one ends the command (exit 2) with an example of a right one.
api_url parse_api_url(const std::string& text);

// Sends one API request, to the orchestrator (--api) or in-process through the same routes
// over a direct NATS connection. Errors end the command.
class client {
public:
  explicit client(client_options o);
  ~client();

  json call(const std::string& method, const std::string& path, const json& body = nullptr);

  /// A task's status, GET /v1/tasks/{id}. In direct mode a running task's worker, attempt and
  /// progress come from its worker (a task ping, docs/WIRE.md §1) or from its events, once
  /// follow_events() listens: the same document the orchestrator shows.
  json task(const std::string& id);

  /// Direct mode: from now on, the task's events (smith.event.<id>) keep what task() shows of
  /// it up to date, without asking its worker. With --api: nothing (the orchestrator has them).
  void follow_events(const std::string& id);

  bool direct_mode() const {
    return o_.api.empty();
  }

private:
  /// Direct mode: connects to NATS once (errors end the command).
  void connect();
  common::http_reply direct(const std::string& method, const std::string& path, const json& body);
  common::http_reply remote(const std::string& method, const std::string& path, const json& body);
  /// The running task's status from the worker that runs it; nothing when none answers.
  std::optional<json> ask_worker(const std::string& id);
  void on_event(std::string_view data);

  client_options o_;
  std::shared_ptr<transport::connection> conn_;
  std::unique_ptr<orchestrator::task_service> service_;
  std::mutex live_mtx_;
  std::optional<json> live_; // the followed task while it runs, from its events
  std::unique_ptr<transport::subscription> events_;
};

void add_client_options(CLI::App* cmd, const std::shared_ptr<client_options>& o);

std::string read_all(std::istream& in);

bool final_state(const std::string& s);

/// 0 for a succeeded task, 1 otherwise.
int exit_for(const json& status);

/// The task's output, decoded from base64 when it is not UTF-8.
std::string output_of(const json& status);

/// Writes a finished task's output to stdout: a text output (UTF-8) gets a newline after it
/// when it does not end in one; bytes that are not UTF-8 (output_base64) go out as they are.
void write_output(const json& status);

/// Polls a task's status until it ends, reporting each change through `on_change`.
json follow(client& c, const std::string& id, std::chrono::milliseconds timeout,
            const std::function<void(const json&)>& on_change);

/// One line (or a progress bar on a terminal) per change of a followed task.
void show_change(const json& s, bool as_json, bool bar);

/// A duration flag ("500ms", "2s", "1m"); empty is 0; a bad one ends the command.
std::chrono::milliseconds duration_flag(const std::string& name, const std::string& text);

/// Ends the command after an answer that is JSON but not the document it should be (a
/// hostile or mistaken --api server).
[[noreturn]] void bad_answer(const std::string& what);

/// Runs a command body and turns its exit code (or a die()) into CLI11's RuntimeError.
template <class Fn>
void run(Fn&& fn) {
  int code = exit_ok;
  try {
    try {
      code = fn();
    } catch (const json::exception& e) {
      bad_answer(e.what());
    }
  } catch (const command_exit& e) {
    code = e.code;
  }
  throw CLI::RuntimeError(code);
}

/// An example for a command's help (its footer): "Example:\n  <lines>".
std::string example(const std::string& lines);

// -- the commands (one file each) ---------------------------------------------------------

void add_submit(CLI::App& app);
void add_status_watch_cancel(CLI::App& app);
void add_queues(CLI::App& app);
void add_dlq(CLI::App& app);
void add_schedule(CLI::App& app);
/// An example in the help of every command that has none yet (help_examples.cpp).
void add_help_examples(CLI::App& app);

} // namespace smith::services::cli
