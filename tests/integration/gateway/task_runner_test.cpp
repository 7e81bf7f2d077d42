// The gateway's task runner against a real nats-server and a real `smith worker`: a tool call
// is a task, followed to its outcome, with its progress, its cancel and its timeout.
#include "../worker/worker_harness.hpp"

#include "services/gateway/mcp_protocol.hpp"
#include "services/gateway/task_runner.hpp"

#include <atomic>

using namespace smith::testing;
using smith::services::gateway::parse_tools_file;
using smith::services::gateway::task_runner;
using smith::services::gateway::tool_outcome;
using smith::services::gateway::tools_file;
using json = nlohmann::json;

namespace {

const char* const tools_text = R"({"tools": [
  {"name": "echo", "description": "Returns its arguments.", "role": "test", "type": "echo",
   "input_schema": {"type": "object"}},
  {"name": "nap", "description": "Sleeps.", "role": "test", "type": "sleep", "timeout": "2s",
   "task_after": "0s",
   "payload": {"template": {"ms": "{{ms}}"}},
   "input_schema": {"type": "object", "properties": {"ms": {"type": "integer"}}}},
  {"name": "run", "description": "Runs a program.", "role": "test", "type": "exec",
   "payload": {"template": {"argv": "{{argv}}"}},
   "input_schema": {"type": "object", "properties": {"argv": {"type": "array"}}}},
  {"name": "elsewhere", "description": "A role with no stream.", "role": "nobody", "type": "echo",
   "input_schema": {"type": "object"}}
]})";

struct gateway_fixture {
  server_fixture f{"gateway"};
  worker_process w{
    f.s.server.url(), f.dir, {"--concurrency", "2"}, {{"SMITH_EXEC_ALLOW", "echo=/bin/echo"}}};
  tools_file tools = parse_tools_file(tools_text);
  std::shared_ptr<smith::services::orchestrator::task_service> service =
    std::make_shared<smith::services::orchestrator::task_service>(f.s.conn, f.s.topo);
  task_runner runner{f.s.conn, service};

  gateway_fixture() {
    REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  }

  tool_outcome call(
    const std::string& tool, const json& arguments, const std::string& key = {},
    std::function<bool()> cancelled = [] { return false; }, std::vector<double>* steps = nullptr) {
    auto* t = tools.find(tool);
    REQUIRE(t != nullptr);
    return runner.run(
      *t, arguments, smith::services::gateway::mcp_task_id(tool, key),
      [steps](double pct, const std::string&) {
        if (steps != nullptr)
          steps->push_back(pct);
      },
      cancelled);
  }
};

} // namespace

TEST_CASE("a tool call runs as a task and answers with its output; a key makes it one task") {
  gateway_fixture g;
  auto o = g.call("echo", json{{"text", "hi"}});
  CHECK(o.how == tool_outcome::kind::succeeded);
  CHECK(o.output == R"({"text":"hi"})");
  CHECK(o.task_id.starts_with("mcp-"));
  CHECK(o.task_id.ends_with("-echo"));

  auto first = g.call("echo", json{{"n", 1}}, "session-1\n7");
  auto again = g.call("echo", json{{"n", 1}}, "session-1\n7");
  CHECK(first.how == tool_outcome::kind::succeeded);
  CHECK(first.task_id.starts_with("mcp-"));
  CHECK(again.task_id == first.task_id);
  CHECK(again.output == first.output);
  CHECK(g.call("echo", json{{"n", 1}}, "session-2\n7").task_id != first.task_id);
}

TEST_CASE("a failing task, a role nobody serves: the outcome says so") {
  gateway_fixture g;
  auto failed = g.call("run", json{{"argv", {"rm", "-rf", "/tmp/x"}}});
  CHECK(failed.how == tool_outcome::kind::failed);
  CHECK(failed.error.find("allow-list") != std::string::npos);
  auto refused = g.call("elsewhere", json::object());
  CHECK(refused.how == tool_outcome::kind::refused);
  CHECK(refused.error.find("nobody") != std::string::npos);
}

TEST_CASE("progress arrives while the task runs; the tool's timeout ends the wait, not the task") {
  gateway_fixture g;
  std::vector<double> steps;
  auto o = g.call(
    "nap", json{{"ms", 800}}, {}, [] { return false; }, &steps);
  CHECK(o.how == tool_outcome::kind::succeeded);
  CHECK_MESSAGE(steps.size() >= 3, steps.size());
  CHECK(std::is_sorted(steps.begin(), steps.end()));

  auto late = g.call("nap", json{{"ms", 6000}});
  CHECK(late.how == tool_outcome::kind::timed_out);
  CHECK(g.service->status(late.task_id)["state"] == "running");
}

TEST_CASE("a cancelled call cancels its task") {
  gateway_fixture g;
  std::vector<double> steps;
  // Cancelled at the first progress event (10 %, at 500 ms): well inside the tool's 2 s
  // timeout, which a first event of a longer nap would race.
  auto o = g.call(
    "nap", json{{"ms", 5000}}, {}, [&] { return !steps.empty(); }, &steps);
  CHECK(o.how == tool_outcome::kind::cancelled);
  REQUIRE_FALSE(o.task_id.empty());
  CHECK(wait_until([&] { return g.service->status(o.task_id)["state"] == "cancelled"; }, 10s));
}

TEST_CASE("an MCP task is our task: created by a call, followed by tasks/get, cancelled") {
  using namespace smith::services::gateway;
  gateway_fixture g;
  mcp_protocol mcp{g.tools, g.runner, mcp_options{}};
  // A 2026-07-28 request from a client with the tasks extension.
  auto ask = [&](const std::string& method, const json& params) {
    json meta{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
              {"io.modelcontextprotocol/clientCapabilities",
               {{"extensions", {{"io.modelcontextprotocol/tasks", json::object()}}}}}};
    auto p = params;
    p["_meta"] = meta;
    mcp_request r{"POST",
                  {{"accept", "application/json"},
                   {"content-type", "application/json"},
                   {"mcp-protocol-version", "2026-07-28"},
                   {"mcp-method", method},
                   {"mcp-name", params.value("name", params.value("taskId", ""))}},
                  json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", p}}.dump()};
    auto answer = mcp.handle(r);
    REQUIRE_MESSAGE(answer.status == 200, answer.body);
    return json::parse(answer.body)["result"];
  };
  // task_after 0s: the call answers with its task at once.
  auto created = ask("tools/call", {{"name", "nap"}, {"arguments", {{"ms", 300}}}});
  REQUIRE(created["resultType"] == "task");
  auto id = created["taskId"].get<std::string>();
  CHECK(created["status"] == "working");
  json done;
  CHECK(wait_until(
    [&] {
      done = ask("tasks/get", {{"taskId", id}});
      return done["status"] != "working";
    },
    10s));
  CHECK(done["status"] == "completed");
  CHECK(done["result"]["isError"] == false);
  CHECK(g.service->status(id)["state"] == "succeeded");

  auto slow = ask("tools/call", {{"name", "nap"}, {"arguments", {{"ms", 20000}}}});
  auto slow_id = slow["taskId"].get<std::string>();
  CHECK(ask("tasks/cancel", {{"taskId", slow_id}})["resultType"] == "complete");
  CHECK(wait_until(
    [&] {
      return ask("tasks/get", {{"taskId", slow_id}})["status"] == "cancelled";
    },
    10s));
}
