#include "services/orchestrator/orchestrator_command.hpp"

#include "services/common/auth.hpp"
#include "services/common/http_server.hpp"
#include "services/common/logging.hpp"
#include "services/common/service_setup.hpp"
#include "services/common/signals.hpp"
#include "services/orchestrator/dead_letter_mover.hpp"
#include "services/orchestrator/live_streams.hpp"
#include "services/orchestrator/log.hpp"
#include "services/orchestrator/metrics.hpp"
#include "services/orchestrator/queue_reporter.hpp"
#include "services/orchestrator/task_api.hpp"
#include "services/orchestrator/task_service.hpp"
#include "services/orchestrator/task_tracker.hpp"
#include "services/orchestrator/throughput.hpp"
#include "services/orchestrator/ui_files.hpp"
#include "transport/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <stdexcept>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using namespace std::chrono_literals;

namespace {

struct orchestrator_options {
  int http_port = 8080;
  std::string http_host = "0.0.0.0";
  std::string metrics_interval = "30s";
  std::size_t max_body = std::size_t{2} * 1024 * 1024;
  bool apply_topology = true;
  bool insecure_no_auth = false;
};

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
  auto token = common::api_token();
  common::require_token_beyond_loopback(o.http_host, token, o.insecure_no_auth, "submit tasks",
                                        log());
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
  throughput counts; // results per role, for the dashboard
  auto tracker = task_tracker::start(*conn, names, &counts);
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
  // The dashboard: its files at /ui (no token: they hold no data), its live views under
  // /v1/stream/ (with the token, in a bounded number of threads of their own).
  live_streams streams{*service, counts, token};
  ep.routes = {streams.route(), ui_route()};
  ep.not_found_hint = "/health, /ready, /metrics, /ui or /v1/";
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
  streams.stop();
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
    "Serve the HTTP API (/v1/) and the dashboard (/ui), move dead tasks to the dead-letter "
    "stream, report queue depth");
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
