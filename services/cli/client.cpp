// The API client of the task commands: --api URL, or the same routes in-process over NATS, and
// in direct mode what the orchestrator's tracker would add to a running task's status.
#include "services/cli/client.hpp"

#include "services/cli/log.hpp"
#include "services/common/logging.hpp"
#include "services/orchestrator/task_api.hpp"
#include "services/orchestrator/task_ids.hpp"
#include "transport/config.hpp"
#include "transport/connection.hpp"
#include "transport/wire/base64.hpp"

#include <httplib.h>

#include <condition_variable>
#include <cstdio>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace smith::services::cli {

namespace tp = smith::transport;
using namespace std::chrono_literals;

namespace {

// Every command's options, so that an error knows whether the command runs with --json (one
// subcommand is parsed per run: only its options can say yes).
std::vector<std::weak_ptr<client_options>>& registered_options() {
  static std::vector<std::weak_ptr<client_options>> all;
  return all;
}

// A field of a document from outside: the wrong type reads as absent, never as an exception.
std::optional<std::string> text_field(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string())
    return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::int64_t> int_field(const json& doc, const char* key, std::int64_t lo,
                                      std::int64_t hi) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer())
    return std::nullopt;
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
    return std::nullopt;
  auto v = it->get<std::int64_t>();
  return v >= lo && v <= hi ? std::optional{v} : std::nullopt;
}

constexpr const char* url_hint =
  "Hint: --api takes the orchestrator's base URL, e.g. http://127.0.0.1:8080, or "
  "http://host:port/prefix behind a proxy that serves it under /prefix";

} // namespace

bool json_errors() {
  for (const auto& w : registered_options())
    if (auto o = w.lock(); o && o->json_out)
      return true;
  return false;
}

std::string error_code_for(int code) {
  switch (code) {
    case exit_task_failed:
      return "task_failed";
    case exit_unavailable:
      return "unavailable";
    case exit_timed_out:
      return "timed_out";
    default:
      return "usage";
  }
}

[[noreturn]] void die(int code, const std::string& line, const std::string& error) {
  if (json_errors())
    std::fprintf(stderr, "%s\n",
                 json{{"error", error.empty() ? error_code_for(code) : error}, {"detail", line}}
                   .dump(-1, ' ', false, json::error_handler_t::replace)
                   .c_str());
  else
    std::fprintf(stderr, "smith: %s\n", escape_text(line).c_str());
  throw command_exit{code};
}

[[noreturn]] void bad_answer(const std::string& what) {
  die(exit_unavailable, "the answer is not the document it should be (" + what + ")", "bad_answer");
}

std::string example(const std::string& lines) {
  return "\nExample:\n" + lines;
}

api_url parse_api_url(const std::string& text) {
  auto fail = [&](const std::string& why) {
    die(exit_bad_request, "--api \"" + text + "\" " + why + ". " + url_hint);
  };
  auto sep = text.find("://");
  if (sep == std::string::npos)
    fail("has no scheme (http:// or https://)");
  auto scheme = text.substr(0, sep);
  if (scheme != "http" && scheme != "https")
    fail("is not an http:// or https:// URL");
  auto rest = text.substr(sep + 3);
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  auto path = slash == std::string::npos ? std::string{} : rest.substr(slash);
  for (char c : text)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      fail("holds a space or a control character");
  if (authority.find('@') != std::string::npos)
    fail("names a user (the token goes in --token)");
  if (authority.empty())
    fail("names no host");
  std::string port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos || close == 1)
      fail("has a bad IPv6 address");
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        fail("has a bad port");
      port = authority.substr(close + 2);
    }
  } else if (auto colon = authority.find(':'); colon != std::string::npos) {
    port = authority.substr(colon + 1);
    if (colon == 0)
      fail("names no host");
    if (port.empty())
      fail("has an empty port");
  }
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos
        || std::stoi(port) < 1 || std::stoi(port) > 65535)
      fail("has a bad port");
  }
  if (path.find_first_of("?#") != std::string::npos)
    fail("has a query or a fragment");
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  return {scheme + "://" + authority, path};
}

client::client(client_options o) : o_(std::move(o)) {
}

client::~client() = default;

json client::call(const std::string& method, const std::string& path, const json& body) {
  auto reply = direct_mode() ? direct(method, path, body) : remote(method, path, body);
  auto doc = json::parse(reply.body, nullptr, false);
  auto code = doc.is_object() ? text_field(doc, "error") : std::nullopt;
  auto detail = doc.is_object() ? text_field(doc, "detail") : std::nullopt;
  int exit = reply.status >= 500 ? exit_unavailable : exit_bad_request;
  if (!direct_mode()) {
    // Not our API speaking: a wrong host or port, a path the orchestrator does not serve (its
    // 404 outside /v1/ says "try ..."), or a proxy's own page.
    bool foreign = reply.status >= 400 && (!code || !detail);
    bool off_api = reply.status == 404 && detail && detail->starts_with("try ");
    if (foreign || off_api || (reply.status < 400 && !doc.is_object()))
      die(reply.status >= 400 ? exit : exit_unavailable,
          o_.api + " answered " + method + " " + parse_api_url(o_.api).prefix + path + " with "
            + std::to_string(reply.status) + (doc.is_object() ? "" : " and no JSON") + ". "
            + url_hint,
          "no_api");
  }
  if (reply.status >= 400)
    die(exit, detail.value_or(reply.body), code.value_or(error_code_for(exit)));
  if (!doc.is_object())
    die(exit_unavailable, "the answer to " + method + " " + path + " is not JSON", "bad_answer");
  return doc;
}

json client::task(const std::string& id) {
  auto s = call("GET", "/v1/tasks/" + id);
  if (!direct_mode() || text_field(s, "state") != "running" || s.contains("worker"))
    return s;
  // Delivered and not finished: the tracker of an orchestrator would know who runs it.
  {
    std::lock_guard guard{live_mtx_};
    if (live_ && live_->contains("worker"))
      return *live_;
  }
  auto answer = ask_worker(id);
  if (!answer)
    return s;
  std::lock_guard guard{live_mtx_};
  if (live_ && live_->contains("progress") && !answer->contains("progress"))
    (*answer)["progress"] = (*live_)["progress"];
  live_ = answer;
  return *answer;
}

std::optional<json> client::ask_worker(const std::string& id) {
  std::mutex mtx;
  std::condition_variable cv;
  std::optional<std::string> got;
  auto inbox = "_INBOX." + orchestrator::random_hex(12);
  auto sub = tp::subscription::create(conn_, inbox, [&](const tp::core_message& m) {
    std::lock_guard guard{mtx};
    if (!got)
      got = std::string{m.data};
    cv.notify_all();
  });
  if (!sub)
    return std::nullopt;
  auto asked = tp::publish_core(*conn_, service_->names().prefix() + ".ping.task." + id, "", inbox);
  if (asked)
    (void)conn_->flush(1s);
  {
    std::unique_lock lock{mtx};
    if (asked)
      cv.wait_for(lock, 250ms, [&] { return got.has_value(); });
  }
  sub->reset(); // the callback never runs again: the locals it uses may go
  std::lock_guard guard{mtx};
  if (!got)
    return std::nullopt;
  // Anyone on NATS can answer: only a whole, well-typed document for this task counts.
  auto doc = json::parse(*got, nullptr, false);
  if (!doc.is_object() || text_field(doc, "id") != id || text_field(doc, "state") != "running")
    return std::nullopt;
  auto role = text_field(doc, "role");
  auto type = text_field(doc, "type");
  auto worker = text_field(doc, "worker");
  auto attempts = int_field(doc, "attempts", 0, UINT32_MAX);
  auto started = int_field(doc, "started_ms", 0, INT64_MAX);
  if (!role || !type || !worker || !attempts || !started)
    return std::nullopt;
  json out{{"id", id},          {"state", "running"},    {"role", *role},         {"type", *type},
           {"worker", *worker}, {"attempts", *attempts}, {"started_ms", *started}};
  if (auto p = doc.find("progress"); p != doc.end() && p->is_object())
    out["progress"] = {{"percent", int_field(*p, "percent", 0, 100).value_or(0)},
                       {"message", text_field(*p, "message").value_or("")}};
  return out;
}

void client::follow_events(const std::string& id) {
  if (!direct_mode() || events_)
    return;
  connect();
  auto sub = tp::subscription::create(conn_, service_->names().event(id),
                                      [this](const tp::core_message& m) { on_event(m.data); });
  if (sub)
    events_ = std::move(*sub);
}

void client::on_event(std::string_view data) {
  // Read as the orchestrator's tracker reads them (a bad field reads as absent or 0).
  auto doc = json::parse(data, nullptr, false);
  if (!doc.is_object())
    return;
  auto kind = text_field(doc, "kind");
  auto id = text_field(doc, "id");
  if (!id)
    return;
  std::lock_guard guard{live_mtx_};
  if (kind == "started") {
    live_ = json{{"id", *id},
                 {"state", "running"},
                 {"role", text_field(doc, "role").value_or("")},
                 {"type", text_field(doc, "type").value_or("")},
                 {"worker", text_field(doc, "worker").value_or("")},
                 {"attempts", int_field(doc, "attempt", 0, UINT32_MAX).value_or(0)},
                 {"started_ms", int_field(doc, "ts_ms", 0, INT64_MAX).value_or(0)}};
  } else if (kind == "progress") {
    if (!live_)
      live_ = json{{"id", *id}};
    (*live_)["progress"] = {{"percent", int_field(doc, "percent", 0, 100).value_or(0)},
                            {"message", text_field(doc, "message").value_or("")}};
  }
}

void client::connect() {
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
    conn_ = *conn;
  }
}

common::http_reply client::direct(const std::string& method, const std::string& path,
                                  const json& body) {
  connect();
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
  auto url = parse_api_url(o_.api);
  httplib::Client cli{url.base};
  cli.set_connection_timeout(5s);
  cli.set_read_timeout(30s);
  httplib::Headers headers;
  if (!o_.token.empty())
    headers.emplace("Authorization", "Bearer " + o_.token);
  httplib::Result res{nullptr, httplib::Error::Unknown};
  auto text = body.is_null() ? std::string{} : body.dump();
  auto full = url.prefix + path;
  if (method == "GET")
    res = cli.Get(full, headers);
  else if (method == "DELETE")
    res = cli.Delete(full, headers);
  else
    res = cli.Post(full, headers, text, "application/json");
  if (!res)
    die(exit_unavailable, "no answer from " + o_.api + " (" + httplib::to_string(res.error())
                            + "). Hint: is `smith orchestrator` running there? --api takes "
                              "its base URL, e.g. http://127.0.0.1:8080");
  return {res->status, res->body};
}

void add_client_options(CLI::App* cmd, const std::shared_ptr<client_options>& o) {
  registered_options().push_back(o);
  cmd
    ->add_option("--api", o->api,
                 "Orchestrator URL, e.g. http://127.0.0.1:8080 or http://host/prefix "
                 "(default: NATS)")
    ->envname("SMITH_API_URL");
  cmd->add_option("--token", o->token, "Bearer token for --api")->envname("SMITH_API_TOKEN");
  cmd->add_flag("--json", o->json_out,
                "Print the JSON answer instead of text; errors too: {\"error\",\"detail\"} on "
                "stderr");
}

std::string read_all(std::istream& in) {
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

bool final_state(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "dead" || s == "cancelled";
}

int exit_for(const json& status) {
  return text_field(status, "state") == "succeeded" ? exit_ok : exit_task_failed;
}

std::string output_of(const json& status) {
  if (auto out = text_field(status, "output"))
    return *out;
  if (auto b64 = text_field(status, "output_base64"))
    return tp::wire::base64_decode(*b64).value_or("");
  return {};
}

void write_output(const json& status) {
  auto out = output_of(status);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (!out.empty() && out.back() != '\n' && text_field(status, "output"))
    std::fputc('\n', stdout);
  std::fflush(stdout);
}

} // namespace smith::services::cli
