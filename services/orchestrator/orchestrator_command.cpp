#include "services/orchestrator/orchestrator_command.hpp"

#include "services/common/http_server.hpp"
#include "services/common/logging.hpp"
#include "services/common/service_setup.hpp"
#include "services/common/signals.hpp"
#include "services/orchestrator/dead_letter_mover.hpp"
#include "services/orchestrator/log.hpp"
#include "services/orchestrator/metrics.hpp"
#include "services/orchestrator/queue_reporter.hpp"
#include "services/orchestrator/task_api.hpp"
#include "services/orchestrator/task_service.hpp"
#include "services/orchestrator/task_tracker.hpp"
#include "transport/topology.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using namespace std::chrono_literals;

namespace {

// SMITH_API_TOKEN, or what SMITH_API_TOKEN_FILE holds (how ECS and compose secrets arrive as
// files) without its trailing line break. A token goes into a header: printable ASCII only.
std::string api_token() {
  const char* value = std::getenv("SMITH_API_TOKEN");
  const char* file = std::getenv("SMITH_API_TOKEN_FILE");
  bool has_value = value != nullptr && *value != '\0';
  if (file == nullptr || *file == '\0')
    return has_value ? value : "";
  if (has_value)
    throw std::invalid_argument("set SMITH_API_TOKEN or SMITH_API_TOKEN_FILE, not both");
  constexpr std::size_t max_token = 4096;
  std::ifstream in{file, std::ios::binary};
  std::string token(max_token + 1, '\0'); // one more: a longer file is refused, not cut
  if (in)
    in.read(token.data(), static_cast<std::streamsize>(token.size()));
  if (!in.is_open() || in.bad())
    throw std::invalid_argument(std::string{"SMITH_API_TOKEN_FILE "} + file + " cannot be read");
  token.resize(static_cast<std::size_t>(in.gcount()));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
    token.pop_back();
  if (token.empty() || token.size() > max_token
      || !std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
    throw std::invalid_argument(std::string{"SMITH_API_TOKEN_FILE "} + file
                                + " must hold one token: 1 to 4096 printable ASCII characters"
                                  " without spaces");
  return token;
}

struct orchestrator_options {
  int http_port = 8080;
  std::string http_host = "0.0.0.0";
  std::string metrics_interval = "30s";
  std::size_t max_body = std::size_t{2} * 1024 * 1024;
  bool apply_topology = true;
  bool insecure_no_auth = false;
};

// Whether only this machine can reach an address: 127.0.0.0/8, ::1 (or 127.x mapped into
// IPv6), or the name localhost. Any other text, 0.0.0.0 and :: included, reaches further.
bool loopback_only(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1)
    return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6))
    return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

// /v1 without a token is for this machine only; serving it further needs the operator's word.
void check_api_exposure(const orchestrator_options& o, const std::string& token) {
  if (!token.empty() || loopback_only(o.http_host))
    return;
  if (!o.insecure_no_auth)
    throw std::invalid_argument(
      "no API token, and --http-host " + o.http_host
      + " is not a loopback address: anyone who reaches it could submit tasks. Set"
        " SMITH_API_TOKEN or SMITH_API_TOKEN_FILE, serve on 127.0.0.1, or pass"
        " --insecure-no-auth");
  SMITH_LOG(log(), warn, "serving /v1 without a token beyond loopback (--insecure-no-auth)",
            {"http_host", o.http_host});
}

// "30s", "1m", or a bare number of seconds (SMITH_METRICS_INTERVAL counts seconds).
tp::milliseconds interval_of(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos)
    return std::chrono::seconds{std::stoll(text)};
  auto d = tp::parse_duration(text);
  if (!d)
    throw std::invalid_argument("SMITH_METRICS_INTERVAL=\"" + text + "\": " + d.error().message());
  return *d;
}

int run_orchestrator(const orchestrator_options& o) {
  auto sigs = common::stop_signal_set(); // main() blocked them in every thread: sigwait below
  common::setup_json_logging();

  auto settings = common::read_service_settings(log());
  if (!settings)
    return 2;
  auto* cc = &settings->connection;
  auto* tc = &settings->topology;
  auto interval = interval_of(o.metrics_interval);
  if (interval < 100ms)
    throw std::invalid_argument("SMITH_METRICS_INTERVAL must be at least 100ms");
  auto token = api_token();
  check_api_exposure(o, token);
  cc->name = "smith-orchestrator";

  auto conn = tp::connection::connect(*cc);
  if (!conn) {
    SMITH_LOG(log(), error, "cannot connect", {"error_type", tp::to_string(conn.error().code())},
              {"error", conn.error().message()});
    return 1;
  }
  std::atomic<bool> topology_ok{!o.apply_topology};
  auto ensure_topology = [&] {
    if (!topology_ok && (*conn)->connected())
      topology_ok = common::create_missing_topology(**conn, *tc, log());
  };
  ensure_topology();

  tp::wire::subjects names{tc->prefix};
  auto tracker = task_tracker::start(*conn, names);
  std::unique_ptr<task_service> service;
  try {
    service = std::make_unique<task_service>(*conn, *tc, tracker.get());
  } catch (const std::exception& e) {
    SMITH_LOG(log(), error, "cannot start the task service", {"error_type", "startup"},
              {"error", e.what()});
    return 1;
  }
  auto mover = std::make_unique<dead_letter_mover>(*conn, *tc);
  metrics stats;
  auto reporter = std::make_unique<queue_reporter>(*service, interval, stdout, stats);
  std::atomic<bool> draining{false};

  common::http_endpoints ep;
  ep.healthy = [] { return true; };
  ep.ready = [&, c = *conn] {
    ensure_topology();
    return !draining && c->connected() && topology_ok && mover->bound();
  };
  ep.metrics = [&, c = *conn] { return stats.render(mover->moved(), c->reconnects()); };
  ep.api = [&](const common::http_request& req) {
    if (draining)
      return common::http_reply{
        503, R"({"error":"unavailable","detail":"the orchestrator is stopping"})"};
    return serve_api(*service, token, req);
  };
  ep.max_body_bytes = o.max_body;
  std::unique_ptr<common::http_server> http;
  try {
    http = std::make_unique<common::http_server>(o.http_host, o.http_port, ep);
  } catch (const std::exception& e) {
    SMITH_LOG(log(), error, "cannot serve http", {"error_type", "http"}, {"error", e.what()});
    return 1;
  }
  SMITH_LOG(log(), info, "orchestrator started", {"http_port", http->port()},
            {"roles", fmt::format("{}", fmt::join(tc->roles, ","))}, {"auth", !token.empty()});

  int sig = 0;
  sigwait(&sigs, &sig);
  SMITH_LOG(log(), info, "stopping", {"signal", sig});
  draining = true;
  reporter.reset();
  mover.reset();
  http.reset();
  if (auto r = (*conn)->drain(10s); !r)
    SMITH_LOG(log(), warn, "connection drain", {"error", r.error().message()});
  SMITH_LOG(log(), info, "orchestrator stopped");
  return 0;
}

} // namespace

void add_orchestrator_command(CLI::App& app) {
  auto o = std::make_shared<orchestrator_options>();
  auto* cmd = app.add_subcommand(
    "orchestrator",
    "Serve the HTTP API (/v1/), move dead tasks to the dead-letter stream, report queue depth");
  cmd->add_option("--http-port", o->http_port, "Port of the API, /health, /ready, /metrics")
    ->envname("SMITH_HTTP_PORT")
    ->capture_default_str();
  cmd->add_option("--http-host", o->http_host, "Address to serve HTTP on")
    ->envname("SMITH_HTTP_HOST")
    ->capture_default_str();
  cmd
    ->add_option("--metrics-interval", o->metrics_interval,
                 "How often queue depth is reported (EMF line on stdout + gauges); seconds or "
                 "a duration")
    ->envname("SMITH_METRICS_INTERVAL")
    ->capture_default_str();
  cmd->add_option("--max-body", o->max_body, "Largest API request body in bytes (413 above)")
    ->envname("SMITH_API_MAX_BODY")
    ->capture_default_str();
  cmd->add_flag("!--no-apply-topology", o->apply_topology,
                "Do not create missing streams and consumers at start-up");
  cmd->add_flag("--insecure-no-auth", o->insecure_no_auth,
                "Serve /v1 without a token on a non-loopback --http-host (refused otherwise)");
  cmd->footer("The API token comes from SMITH_API_TOKEN or SMITH_API_TOKEN_FILE (never a flag:"
              " flags show in ps). Without one, /v1 is served on a loopback --http-host only,"
              " unless --insecure-no-auth.");
  cmd->callback([o] { throw CLI::RuntimeError(run_orchestrator(*o)); });
}

} // namespace smith::services::orchestrator
