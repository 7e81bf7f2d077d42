#include "services/gateway/gateway_command.hpp"

#include "services/common/auth.hpp"
#include "services/common/http_server.hpp"
#include "services/common/logging.hpp"
#include "services/common/service_setup.hpp"
#include "services/common/signals.hpp"
#include "services/gateway/log.hpp"
#include "services/gateway/mcp_messages.hpp"
#include "services/gateway/mcp_protocol.hpp"
#include "services/gateway/task_runner.hpp"

#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace smith::services::gateway {

namespace tp = smith::transport;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct gateway_options {
  int http_port = 8090;
  std::string http_host = "0.0.0.0";
  std::string tools_file;
  std::string allowed_origins;
  std::size_t max_body = std::size_t{1024} * 1024;
  bool insecure_no_auth = false;
};

tools_file read_tools(const std::string& path) {
  if (path.empty())
    throw std::invalid_argument("--tools/SMITH_GATEWAY_TOOLS names no tools file");
  std::ifstream in{path};
  if (!in)
    throw std::invalid_argument("SMITH_GATEWAY_TOOLS " + path + " cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return parse_tools_file(text.str());
  } catch (const tools_file_error& e) {
    throw std::invalid_argument("SMITH_GATEWAY_TOOLS " + path + ": " + e.what());
  }
}

std::vector<std::string> origins_of(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in{list};
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty())
      out.push_back(item);
  return out;
}

// An SSE event per message (streamable-http: "event: message", one data line, no id: the
// stream is not resumable); a null message is a comment line, which clients ignore (SSE
// § 9.2.6: a line starting with a colon).
std::string sse_event(const json& message) {
  if (message.is_null())
    return ": keep-alive\n\n";
  return "event: message\ndata: " + mcp_messages::text_of(message) + "\n\n";
}

int run_gateway(const gateway_options& o) {
  auto sigs = common::stop_signal_set(); // main() blocked them in every thread: sigwait below
  common::setup_json_logging();
  auto settings = common::read_service_settings(log());
  if (!settings)
    return 2;
  auto tools = read_tools(o.tools_file);
  auto token = common::api_token();
  common::require_token_beyond_loopback(o.http_host, token, o.insecure_no_auth, "run the tools",
                                        log());
  auto* cc = &settings->connection;
  cc->name = "smith-gateway";
  auto conn = tp::connection::connect(*cc);
  if (!conn) {
    SMITH_LOG(log(), error, "cannot connect", {"error_type", tp::to_string(conn.error().code())},
              {"error", conn.error().message()});
    return 1;
  }
  auto service = std::make_shared<orchestrator::task_service>(*conn, settings->topology);
  task_runner runner{*conn, service};
  mcp_options mo;
  mo.server_version = SMITH_VERSION;
  mo.allowed_origins = origins_of(o.allowed_origins);
  mo.task_ttl = settings->topology.results_max_age; // a task's result is kept this long
  mcp_protocol mcp{tools, runner, mo};
  std::atomic<bool> draining{false};
  std::atomic<std::uint64_t> requests{0};
  common::http_endpoints ep;
  ep.healthy = [] { return true; };
  ep.ready = [&, c = *conn] { return !draining && c->connected(); };
  ep.metrics = [&, c = *conn] {
    return "# TYPE smith_gateway_requests_total counter\nsmith_gateway_requests_total "
           + std::to_string(requests.load())
           + "\n# TYPE smith_nats_reconnects_total counter\nsmith_nats_reconnects_total "
           + std::to_string(c->reconnects()) + "\n";
  };
  ep.stream_path = "/mcp";
  ep.stream = [&](const common::stream_request& req) {
    ++requests;
    common::stream_reply out;
    auto auth = req.headers.find("authorization");
    if (!token.empty()
        && !common::bearer_matches(auth == req.headers.end() ? "" : auth->second, token)) {
      out.status = 401;
      out.headers["WWW-Authenticate"] = "Bearer";
      out.body = mcp_messages::text_of(mcp_messages::error_message(
        nullptr, rpc::invalid_request, "missing or wrong bearer token"));
      return out;
    }
    if (draining) {
      out.status = 503;
      out.body = mcp_messages::text_of(
        mcp_messages::error_message(nullptr, rpc::internal_error, "the gateway is stopping"));
      return out;
    }
    auto r = mcp.handle(mcp_request{req.method, req.headers, req.body});
    out.status = r.status;
    out.headers = r.headers;
    out.body = r.body;
    if (r.events) {
      out.content_type = "text/event-stream";
      out.headers["Cache-Control"] = "no-cache";
      out.headers["X-Accel-Buffering"] = "no";
      out.chunks = [events = r.events](const std::function<bool(std::string_view)>& write) {
        events([&write](const json& message) { return write(sse_event(message)); });
      };
    }
    return out;
  };
  ep.max_body_bytes = o.max_body;
  ep.max_body_setting = "SMITH_GATEWAY_MAX_BODY";
  std::unique_ptr<common::http_server> http;
  try {
    http = std::make_unique<common::http_server>(o.http_host, o.http_port, ep);
  } catch (const std::exception& e) {
    SMITH_LOG(log(), error, "cannot serve http", {"error_type", "http"}, {"error", e.what()});
    return 1;
  }
  SMITH_LOG(log(), info, "gateway started", {"http_port", http->port()},
            {"tools", tools.tools.size()}, {"auth", !token.empty()});
  int sig = 0;
  sigwait(&sigs, &sig);
  SMITH_LOG(log(), info, "stopping", {"signal", sig});
  draining = true;
  http.reset();
  if (auto r = (*conn)->drain(10s); !r)
    SMITH_LOG(log(), warn, "connection drain", {"error", r.error().message()});
  SMITH_LOG(log(), info, "gateway stopped");
  return 0;
}

} // namespace

void add_gateway_command(CLI::App& app) {
  auto o = std::make_shared<gateway_options>();
  auto* cmd = app.add_subcommand(
    "gateway", "Serve worker task types as MCP tools on /mcp (Streamable HTTP), with /health, "
               "/ready, /metrics");
  cmd->add_option("--tools", o->tools_file, "The tools file (JSON): which task types are tools")
    ->envname("SMITH_GATEWAY_TOOLS");
  cmd->add_option("--http-port", o->http_port, "Port of /mcp, /health, /ready, /metrics")
    ->envname("SMITH_HTTP_PORT")
    ->capture_default_str();
  cmd->add_option("--http-host", o->http_host, "Address to serve HTTP on")
    ->envname("SMITH_HTTP_HOST")
    ->capture_default_str();
  cmd
    ->add_option("--allowed-origins", o->allowed_origins,
                 "Comma-separated Origin values allowed to call (a request with another Origin "
                 "header gets 403; one without an Origin header is not a browser's)")
    ->envname("SMITH_GATEWAY_ALLOWED_ORIGINS");
  cmd->add_option("--max-body", o->max_body, "Largest request body in bytes (413 above)")
    ->envname("SMITH_GATEWAY_MAX_BODY")
    ->capture_default_str();
  cmd->add_flag("--insecure-no-auth", o->insecure_no_auth,
                "Serve /mcp without a token on a non-loopback --http-host (refused otherwise)");
  cmd->footer("The token comes from SMITH_API_TOKEN or SMITH_API_TOKEN_FILE; clients send "
              "Authorization: Bearer <token>.");
  cmd->callback([o] { throw CLI::RuntimeError(run_gateway(*o)); });
}

} // namespace smith::services::gateway
