// The gateway's task runner against a real nats-server and a real `smith worker`: a tool call
// is a task, followed to its outcome, with its progress, its cancel and its timeout.
#include "../worker/worker_harness.hpp"

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
      *t, arguments, key,
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
  CHECK(o.task_id.starts_with("t-"));

  auto first = g.call("echo", json{{"n", 1}}, "session-1\n7");
  auto again = g.call("echo", json{{"n", 1}}, "session-1\n7");
  CHECK(first.how == tool_outcome::kind::succeeded);
  CHECK(first.task_id.starts_with("k-"));
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
