#include "services/cli/client.hpp"

#include "services/cli/log.hpp"
#include "services/common/logging.hpp"
#include "services/orchestrator/task_api.hpp"
#include "transport/config.hpp"
#include "transport/connection.hpp"
#include "transport/wire/base64.hpp"

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace smith::services::cli {

namespace tp = smith::transport;
using namespace std::chrono_literals;

[[noreturn]] void die(int code, const std::string& line) {
  std::fprintf(stderr, "smith: %s\n", line.c_str());
  throw command_exit{code};
}

// Sends one API request, to the orchestrator (--api) or in-process through the same routes
// over a direct NATS connection. Errors end the command.
client::client(client_options o) : o_(std::move(o)) {
}

client::~client() = default;

json client::call(const std::string& method, const std::string& path, const json& body) {
  auto reply = o_.api.empty() ? direct(method, path, body) : remote(method, path, body);
  auto doc = json::parse(reply.body, nullptr, false);
  if (reply.status >= 400) {
    auto detail = doc.is_object() ? doc.value("detail", reply.body) : reply.body;
    die(reply.status >= 500 ? exit_unavailable : exit_bad_request, detail);
  }
  if (doc.is_discarded())
    die(exit_unavailable, "the answer to " + method + " " + path + " is not JSON");
  return doc;
}

common::http_reply client::direct(const std::string& method, const std::string& path,
                                  const json& body) {
  if (!service_) {
    auto env = tp::process_env();
    auto cc = tp::parse_connection_config(env);
    auto tc = tp::parse_topology_config(env);
    if (!cc || !tc)
      die(exit_bad_request, (!cc ? cc.error() : tc.error()).message());
    cc->name = "smith-cli";
    // The command reports its own errors, once. What it logs are the audit lines of the changes
    // it makes ("who":"local"), on stderr: stdout is the command's answer.
    tp::logging::set_output(stderr);
    tp::logging::set_level(tp::logging::level::off);
    try {
      log().set_level(common::log_level_from_env());
    } catch (const std::invalid_argument& e) {
      die(exit_bad_request, e.what());
    }
    cc->retry_on_failed_connect = false;
    auto conn = tp::connection::connect(*cc);
    if (!conn)
      die(exit_unavailable, conn.error().message() + ". Hint: set SMITH_NATS_URL, or --api URL");
    try {
      service_ = std::make_unique<orchestrator::task_service>(*conn, *tc);
    } catch (const std::exception& e) {
      die(exit_unavailable, e.what());
    }
  }
  auto q = path.find('?');
  common::http_request req{method, path.substr(0, q), body.is_null() ? "" : body.dump(), "", {}};
  if (q != std::string::npos) {
    std::istringstream params{path.substr(q + 1)};
    for (std::string kv; std::getline(params, kv, '&');)
      if (auto eq = kv.find('='); eq != std::string::npos)
        req.query[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return orchestrator::serve_local(*service_, req, log());
}

common::http_reply client::remote(const std::string& method, const std::string& path,
                                  const json& body) {
  httplib::Client cli{o_.api};
  cli.set_connection_timeout(5s);
  cli.set_read_timeout(30s);
  httplib::Headers headers;
  if (!o_.token.empty())
    headers.emplace("Authorization", "Bearer " + o_.token);
  httplib::Result res{nullptr, httplib::Error::Unknown};
  auto text = body.is_null() ? std::string{} : body.dump();
  if (method == "GET")
    res = cli.Get(path, headers);
  else if (method == "DELETE")
    res = cli.Delete(path, headers);
  else
    res = cli.Post(path, headers, text, "application/json");
  if (!res)
    die(exit_unavailable, "no answer from " + o_.api + " (" + httplib::to_string(res.error())
                            + "). Hint: is the orchestrator running? --api URL");
  return {res->status, res->body};
}

void add_client_options(CLI::App* cmd, const std::shared_ptr<client_options>& o) {
  cmd->add_option("--api", o->api, "Orchestrator URL, e.g. http://127.0.0.1:8080 (default: NATS)")
    ->envname("SMITH_API_URL");
  cmd->add_option("--token", o->token, "Bearer token for --api")->envname("SMITH_API_TOKEN");
  cmd->add_flag("--json", o->json_out, "Print the JSON answer instead of text");
}

std::string read_all(std::istream& in) {
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

bool final_state(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "dead" || s == "cancelled";
}

int exit_for(const json& status) {
  return status.value("state", "") == "succeeded" ? exit_ok : exit_task_failed;
}

std::string output_of(const json& status) {
  if (status.contains("output"))
    return status["output"].get<std::string>();
  if (status.contains("output_base64"))
    return tp::wire::base64_decode(status["output_base64"].get<std::string>()).value_or("");
  return {};
}

// Polls a task's status until it ends, reporting each change through `on_change`.
json follow(client& c, const std::string& id, std::chrono::milliseconds timeout,
            const std::function<void(const json&)>& on_change) {
  auto until = std::chrono::steady_clock::now() + timeout;
  json last;
  for (;;) {
    auto s = c.call("GET", "/v1/tasks/" + id);
    if (s != last)
      on_change(s);
    last = s;
    if (final_state(s.value("state", "")))
      return s;
    if (timeout.count() > 0 && std::chrono::steady_clock::now() > until)
      die(exit_timed_out, "task " + id + " did not end within the --timeout (it goes on)");
    std::this_thread::sleep_for(100ms); // a poll interval, not a synchronisation
  }
}

// One line (or a progress bar on a terminal) per change of a followed task.
void show_change(const json& s, bool as_json, bool bar) {
  if (as_json) {
    std::printf("%s\n", s.dump().c_str());
    std::fflush(stdout);
    return;
  }
  auto state = s.value("state", "");
  if (bar && state == "running" && s.contains("progress")) {
    int pct = std::clamp(s["progress"].value("percent", 0), 0, 100);
    std::string filled(static_cast<std::size_t>(pct / 5), '#');
    std::fprintf(stderr, "\r[%-20s] %3d%% %s", filled.c_str(), pct,
                 s["progress"].value("message", "").c_str());
    return;
  }
  if (bar)
    std::fprintf(stderr, "\r%-60s\r", "");
  std::fprintf(stderr, "%s %s", s.value("id", "").c_str(), state.c_str());
  if (s.contains("worker") && !s["worker"].get<std::string>().empty())
    std::fprintf(stderr, " (worker %s, attempt %d)", s["worker"].get<std::string>().c_str(),
                 s.value("attempts", 0));
  if (s.contains("progress"))
    std::fprintf(stderr, " %d%% %s", s["progress"].value("percent", 0),
                 s["progress"].value("message", "").c_str());
  std::fprintf(stderr, "\n");
}

void print_status(const json& s) {
  for (auto& [k, v] : s.items())
    std::printf("%-12s %s\n", k.c_str(),
                v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
}

std::chrono::milliseconds duration_flag(const std::string& name, const std::string& text) {
  if (text.empty())
    return tp::milliseconds{0};
  auto d = tp::parse_duration(text);
  if (!d)
    die(exit_bad_request, name + " \"" + text + "\": " + d.error().message());
  return *d;
}

} // namespace smith::services::cli
