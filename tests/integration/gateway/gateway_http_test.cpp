// docs/MCP.md as a contract over real HTTP: a real nats-server, a real `smith worker`, the
// gateway process, and mcp_conformance.py (stdlib Python) checking each status, header rule,
// JSON-RPC error, tool call and MCP task the document names. Then the tasks themselves, in NATS:
// the calls cancelled are cancelled, the timed-out one went on, bad arguments ran nothing.
#include "../worker/worker_harness.hpp"

#include "services/orchestrator/task_service.hpp"
#include "support/command.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

using namespace smith::testing;
using json = nlohmann::json;

namespace http_conformance {

// The tools mcp_conformance.py expects, in this order (its TOOLS).
const char* const conformance_tools = R"({"tools": [
  {"name": "echo", "description": "Returns its arguments.", "role": "test", "type": "echo",
   "input_schema": {"type": "object", "properties": {"text": {"type": "string"}},
                    "required": ["text"]}},
  {"name": "strict", "description": "Only ever called with bad arguments.", "role": "test",
   "type": "echo",
   "input_schema": {"type": "object", "properties": {"text": {"type": "string"}},
                    "required": ["text"]}},
  {"name": "nap", "description": "Sleeps, with progress.", "role": "test", "type": "sleep",
   "payload": {"template": {"ms": "{{ms}}"}},
   "input_schema": {"type": "object", "properties": {"ms": {"type": "integer"}}}},
  {"name": "slow1s", "description": "Sleeps past its timeout.", "role": "test", "type": "sleep",
   "timeout": "1s", "payload": {"template": {"ms": "{{ms}}"}},
   "input_schema": {"type": "object", "properties": {"ms": {"type": "integer"}}}},
  {"name": "fail", "description": "Runs a program off the allow-list.", "role": "test",
   "type": "exec", "payload": {"template": {"argv": ["rm", "-rf", "{{path}}"]}},
   "input_schema": {"type": "object", "properties": {"path": {"type": "string"}},
                    "required": ["path"]}},
  {"name": "drop", "description": "Sleeps; its stream is closed.", "role": "test",
   "type": "sleep", "payload": {"template": {"ms": "{{ms}}"}},
   "input_schema": {"type": "object", "properties": {"ms": {"type": "integer"}}}},
  {"name": "hold", "description": "Sleeps; it is cancelled.", "role": "test", "type": "sleep",
   "payload": {"template": {"ms": "{{ms}}"}},
   "input_schema": {"type": "object", "properties": {"ms": {"type": "integer"}}}},
  {"name": "task.nap", "description": "Sleeps, as an MCP task at once.", "role": "test",
   "type": "sleep", "timeout": "30s", "task_after": "0s",
   "payload": {"template": {"ms": "{{ms}}"}},
   "input_schema": {"type": "object", "properties": {"ms": {"type": "integer"}}}},
  {"name": "batch", "description": "Only ever a task.", "role": "test", "type": "echo",
   "task": "required", "input_schema": {"type": "object"}}
]})";

constexpr const char* conformance_token = "conformance-token";
constexpr const char* allowed_origin = "http://localhost:6274";
constexpr int small_max_body = 65536;

std::string env_file(const char* name) {
  const char* path = std::getenv(name);
  REQUIRE_MESSAGE(path != nullptr, name << " is not set: run through meson test");
  REQUIRE_MESSAGE(std::filesystem::exists(path),
                  path << " is missing: run scripts/test-venv (./dev test does)");
  return path;
}

// `smith gateway` with a token, one allowed Origin and a small body limit.
struct conformance_gateway {
  conformance_gateway(const std::string& nats_url, const temp_dir& dir)
    : port(free_port()), log(dir.path() / "gateway-http.log") {
    auto tools = dir.path() / "conformance-tools.json";
    std::ofstream{tools} << conformance_tools;
    const std::map<std::string, std::string> env{
      {"SMITH_NATS_URL", nats_url},
      {"SMITH_ROLES", "test"},
      {"SMITH_API_TOKEN", conformance_token},
      {"SMITH_GATEWAY_ALLOWED_ORIGINS", allowed_origin},
      {"SMITH_GATEWAY_MAX_BODY", std::to_string(small_max_body)}};
    for (const auto& [k, v] : env)
      ::setenv(k.c_str(), v.c_str(), 1);
    process =
      child_process::spawn({smith_binary(), "gateway", "--tools", tools.string(), "--http-host",
                            "127.0.0.1", "--http-port", std::to_string(port)},
                           log);
    ::unsetenv("SMITH_API_TOKEN");
    ::unsetenv("SMITH_GATEWAY_ALLOWED_ORIGINS");
    ::unsetenv("SMITH_GATEWAY_MAX_BODY");
  }

  bool ready() const {
    httplib::Client cli{"127.0.0.1", port};
    auto res = cli.Get("/ready");
    return res && res->status == 200;
  }

  std::string log_text() const {
    std::ifstream in{log};
    return {std::istreambuf_iterator<char>{in}, {}};
  }

  int port;
  std::filesystem::path log;
  child_process process;
};

// The task's state in the task service, or "(<error>)" when it cannot tell (404: no task).
std::string state_of(smith::services::orchestrator::task_service& service, const std::string& id) {
  try {
    return service.status(id).value("state", "(no state)");
  } catch (const std::exception& e) {
    return std::string{"("} + e.what() + ")";
  }
}

// Distinct results of the tasks of `tool` (ids end with -<tool>, a '.' written '~').
std::vector<std::string> results_of(result_collector& results, std::string tool) {
  std::replace(tool.begin(), tool.end(), '.', '~');
  std::lock_guard guard{results.mtx};
  std::vector<std::string> ids;
  for (const auto& [id, rs] : results.results)
    if (id.starts_with("mcp-") && id.ends_with("-" + tool))
      ids.push_back(id);
  return ids;
}

} // namespace http_conformance

TEST_CASE("the gateway keeps docs/MCP.md over HTTP: statuses, headers, calls, cancels, tasks") {
  using namespace http_conformance;
  server_fixture f{"gateway-http"};
  worker_process w{
    f.s.server.url(), f.dir, {"--concurrency", "4"}, {{"SMITH_EXEC_ALLOW", "echo=/bin/echo"}}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  conformance_gateway g{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(wait_until([&] { return g.ready(); }, 20s), g.log_text());

  auto url = "http://127.0.0.1:" + std::to_string(g.port) + "/mcp";
  auto r = run_command({env_file("PROMETHEUS_PYTHON"), env_file("GATEWAY_CONFORMANCE"), url,
                        conformance_token, allowed_origin, std::to_string(small_max_body)},
                       {}, {}, 120s);
  INFO("conformance: " << r.out << r.err << "\ngateway: " << g.log_text());
  REQUIRE(r.exit_code == 0);
  auto last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  auto seen = json::parse(last);
  INFO("reported: " << seen.dump());

  smith::services::orchestrator::task_service service{f.s.conn, f.s.topo};
  auto ends_as = [&](const std::string& id, const std::string& state) {
    std::string now;
    bool ended = wait_until(
      [&] {
        now = state_of(service, id);
        return now != "queued" && now != "running" && now != "scheduled";
      },
      15s);
    CHECK_MESSAGE(ended, id << " still " << now);
    CHECK_MESSAGE(now == state, id << " is " << now << ", not " << state);
  };
  // Cancelled from the client (notifications/cancelled, tasks/cancel in both revisions); failed;
  // succeeded, among them the call that timed out: its task went on.
  REQUIRE(seen["cancelled"].size() == 3);
  for (const auto& id : seen["cancelled"])
    ends_as(id.get<std::string>(), "cancelled");
  REQUIRE(seen["failed"].size() == 1);
  ends_as(seen["failed"][0].get<std::string>(), "failed");
  REQUIRE(seen["succeeded"].size() == 4);
  for (const auto& id : seen["succeeded"])
    ends_as(id.get<std::string>(), "succeeded");

  // The stream closed after its first progress event: its task (the only `drop` call) is
  // cancelled, long before its 8 s sleep would have ended.
  REQUIRE(seen["closed"] == json::array({"drop"}));
  std::vector<std::string> dropped;
  CHECK(wait_until([&] { return !(dropped = results_of(f.results, "drop")).empty(); }, 15s));
  REQUIRE(dropped.size() == 1);
  ends_as(dropped[0], "cancelled");

  // Every call that should have become a task has a result, one per call; the calls with bad
  // arguments (all of `strict`'s) submitted nothing.
  std::size_t total = 0;
  for (const auto& [tool, count] : seen["submitted"].items()) {
    auto want = count.get<std::size_t>();
    total += want;
    CHECK_MESSAGE(wait_until([&] { return results_of(f.results, tool).size() >= want; }, 15s),
                  tool << ": " << results_of(f.results, tool).size() << " results of " << want);
    CHECK_MESSAGE(results_of(f.results, tool).size() == want, tool);
  }
  CHECK(seen["submitted"]["strict"] == 0);
  CHECK(results_of(f.results, "strict").empty());
  CHECK(f.results.distinct() == total);
}
