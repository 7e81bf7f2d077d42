// MCP tasks over our tasks: the 2025-11-25 tasks utility (params.task, tasks/get, tasks/result,
// tasks/cancel) and the 2026-07-28 io.modelcontextprotocol/tasks extension (the server makes a
// long call a task; tasks/get carries its result; tasks/cancel and tasks/update acknowledge).
#include "mcp_fixture.hpp"

using namespace mcp_testing;

namespace {

const char* const task_tools = R"({"tools": [
  {"name": "echo", "description": "Returns its text.", "role": "execute", "type": "echo",
   "input_schema": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 10}}}},
  {"name": "quick.one", "description": "Never a task.", "role": "execute", "type": "echo",
   "task": "forbidden", "input_schema": {"type": "object"}},
  {"name": "batch", "description": "Always a task.", "role": "execute", "type": "sleep",
   "task": "required", "task_after": "0s", "timeout": "1h", "input_schema": {"type": "object"}}
]})";

constexpr const char* ext = "io.modelcontextprotocol/tasks";

struct tasks_fixture : fixture {
  tasks_fixture() : fixture(test_options(), task_tools) {
  }

  // A 2026-07-28 request whose client declares the tasks extension (or not); a task method's
  // Mcp-Name is its taskId.
  mcp_request modern_tasks(const std::string& method, json params, bool declare = true) {
    auto r = modern(method, params);
    auto msg = json::parse(r.body);
    if (declare)
      msg["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]["extensions"][ext] =
        json::object();
    r.body = msg.dump();
    if (params.contains("taskId") && params["taskId"].is_string())
      r.headers["mcp-name"] = params["taskId"].get<std::string>();
    return r;
  }

  mcp_request legacy_call(json params, const std::string& session) {
    return legacy("tools/call", std::move(params), session);
  }
};

task_view finished_view(tool_outcome o) {
  return task_view{true, std::move(o), "succeeded", "", 1'000, 2'000};
}

} // namespace

TEST_CASE("task ids name their tool; anything else is no task of ours") {
  auto id = mcp_task_id("quick.one", "session s 7");
  CHECK(id.starts_with("mcp-"));
  CHECK(id.ends_with("-quick~one"));
  CHECK(id.find('.') == std::string::npos); // one subject token
  CHECK(id == mcp_task_id("quick.one", "session s 7"));
  CHECK(id != mcp_task_id("quick.one", "session s 8"));
  CHECK(mcp_task_id("echo", "") != mcp_task_id("echo", ""));
  CHECK(tool_of_task_id(id) == "quick.one");
  CHECK_FALSE(tool_of_task_id("t-0123"));
  CHECK_FALSE(tool_of_task_id("mcp-XYZ"));
  CHECK_FALSE(tool_of_task_id("mcp-0123456789abcdef0123456z-echo"));
  CHECK_FALSE(tool_of_task_id("mcp-0123456789abcdef01234567-"));
}

TEST_CASE("2025-11-25: tasks are declared; params.task answers a task; tasks/get follows it") {
  tasks_fixture f;
  auto init = f.mcp.handle(
    f.legacy("initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}}));
  auto caps = body(init)["result"]["capabilities"];
  CHECK(caps["tasks"]
        == json{{"cancel", json::object()}, {"requests", {{"tools", {{"call", json::object()}}}}}});
  CHECK_FALSE(caps["tasks"].contains("list"));
  auto s = init.headers.at("Mcp-Session-Id");
  auto tools = body(f.mcp.handle(f.legacy("tools/list", {}, s)))["result"]["tools"];
  CHECK(tools[0]["execution"] == json{{"taskSupport", "optional"}});
  CHECK(tools[1]["execution"] == json{{"taskSupport", "forbidden"}});
  CHECK(tools[2]["execution"] == json{{"taskSupport", "required"}});

  auto created = body(f.mcp.handle(f.legacy_call(
    {{"name", "echo"}, {"arguments", {{"text", "hi"}}}, {"task", {{"ttl", 60000}}}}, s)));
  auto task = created["result"]["task"];
  REQUIRE(f.runner.calls.size() == 1);
  CHECK(f.runner.waited.empty()); // answered at once, not after the task
  auto id = f.runner.calls[0].key;
  CHECK(task["taskId"] == id);
  CHECK(task["status"] == "working");
  CHECK(task["ttl"] == 86'400'000);
  CHECK(task["pollInterval"] == 1'000);
  CHECK(task["createdAt"].get<std::string>().ends_with("Z"));
  CHECK_FALSE(created["result"].contains("resultType"));

  auto got = body(f.mcp.handle(f.legacy("tasks/get", {{"taskId", id}}, s)))["result"];
  CHECK(got["taskId"] == id);
  CHECK(got["status"] == "working");
  CHECK(got["statusMessage"] == "queued");
  CHECK(got["createdAt"] == "1970-01-01T00:00:01.000Z");

  f.runner.views[id] = finished_view({tool_outcome::kind::failed, "", "exit status 2", id});
  got = body(f.mcp.handle(f.legacy("tasks/get", {{"taskId", id}}, s)))["result"];
  CHECK(got["status"] == "failed"); // 2025-11-25: a tool result with isError is failed
  CHECK(got["statusMessage"] == "echo failed (task " + id + "): exit status 2");
  CHECK(got["lastUpdatedAt"] == "1970-01-01T00:00:02.000Z");
  CHECK_FALSE(got.contains("pollInterval"));

  // tasks/result: the call's own result, with the related task in _meta.
  auto result = body(f.mcp.handle(f.legacy("tasks/result", {{"taskId", id}}, s)))["result"];
  CHECK(result["isError"] == true);
  CHECK(result["_meta"]["io.modelcontextprotocol/related-task"] == json{{"taskId", id}});
}

TEST_CASE("2025-11-25: tasks/result waits for a working task; tasks/cancel and its errors") {
  tasks_fixture f;
  auto s = f.initialize();
  (void)f.mcp.handle(f.legacy_call({{"name", "echo"}, {"task", json::object()}}, s));
  auto id = f.runner.calls.at(0).key;
  f.runner.next = {tool_outcome::kind::succeeded, R"({"n": 1})", "", id};
  auto plain = f.legacy("tasks/result", {{"taskId", id}}, s);
  plain.headers["accept"] = "application/json";
  auto done = body(f.mcp.handle(plain))["result"];
  CHECK(f.runner.waited == std::vector<std::chrono::milliseconds>{std::chrono::seconds{60}});
  CHECK(done["structuredContent"] == json{{"n", 1}});
  // On a stream it waits as long as the task may live.
  auto streamed = drain(f.mcp.handle(f.legacy("tasks/result", {{"taskId", id}}, s)));
  REQUIRE(streamed.size() == 1);
  CHECK(streamed[0]["result"]["structuredContent"] == json{{"n", 1}});
  CHECK(f.runner.waited.at(1) == std::chrono::hours{24});

  auto cancelled = body(f.mcp.handle(f.legacy("tasks/cancel", {{"taskId", id}}, s)))["result"];
  CHECK(cancelled["status"] == "cancelled");
  CHECK(f.runner.cancelled == std::vector<std::string>{id});
  f.runner.views[id] = finished_view({tool_outcome::kind::succeeded, "x", "", id});
  auto again = body(f.mcp.handle(f.legacy("tasks/cancel", {{"taskId", id}}, s)));
  CHECK(again["error"]["code"] == -32602);
  CHECK(again["error"]["message"] == "Cannot cancel task: already in terminal status 'completed'");

  for (const auto& bad : {json("t-1"), json(mcp_task_id("nope", "k")), json(7)}) {
    auto r = f.mcp.handle(f.legacy("tasks/get", {{"taskId", bad}}, s));
    CHECK(r.status == 200);
    CHECK(code(r) == -32602);
  }
  CHECK(code(f.mcp.handle(f.legacy("tasks/get", {{"taskId", mcp_task_id("echo", "never")}}, s)))
        == -32602);
  CHECK(code(f.mcp.handle(f.legacy("tasks/list", {}, s))) == -32601);
}

TEST_CASE("2025-11-25: taskSupport is kept; bad arguments of a task request are an error") {
  tasks_fixture f;
  auto s = f.initialize();
  CHECK(code(f.mcp.handle(f.legacy_call({{"name", "quick.one"}, {"task", json::object()}}, s)))
        == -32601);
  CHECK(code(f.mcp.handle(f.legacy_call({{"name", "batch"}}, s))) == -32601);
  auto bad = body(f.mcp.handle(
    f.legacy_call({{"name", "echo"}, {"arguments", {{"text", 5}}}, {"task", json::object()}}, s)));
  CHECK(bad["error"]["code"] == -32602);
  CHECK(bad["error"]["message"]
        == "Invalid arguments for tool echo:\n/text: must be string, not 5");
  f.runner.refuse = "unknown role";
  auto refused = body(f.mcp.handle(f.legacy_call({{"name", "echo"}, {"task", json::object()}}, s)));
  CHECK(refused["error"]["code"] == -32603);
  CHECK(f.runner.calls.empty());
}

TEST_CASE("2026-07-28: the tasks extension is offered; a long call becomes its task") {
  tasks_fixture f;
  auto discover = body(f.mcp.handle(f.modern("server/discover")))["result"];
  CHECK(discover["capabilities"]["extensions"] == json{{ext, json::object()}});

  // Without the extension: the call waits its whole timeout and never answers a task.
  f.runner.next = {tool_outcome::kind::timed_out, "", "", "x"};
  auto plain = body(f.mcp.handle(f.modern_tasks("tools/call", {{"name", "echo"}}, false)));
  CHECK(plain["result"]["resultType"] == "complete");
  CHECK(f.runner.waited.at(0) == std::chrono::seconds{60});

  // With it: after task_after (5 s by default) the answer is the task.
  auto call = body(f.mcp.handle(f.modern_tasks("tools/call", {{"name", "echo"}})))["result"];
  CHECK(f.runner.waited.at(1) == std::chrono::seconds{5});
  CHECK(call["resultType"] == "task");
  CHECK(call["taskId"] == f.runner.calls.at(1).key);
  CHECK(call["status"] == "working");
  CHECK(call["ttlMs"] == 86'400'000);
  CHECK(call["pollIntervalMs"] == 1'000);
  // A call that ends in time is answered as usual.
  f.runner.next = {tool_outcome::kind::succeeded, "hi", "", "y"};
  auto quick = body(f.mcp.handle(f.modern_tasks("tools/call", {{"name", "echo"}})))["result"];
  CHECK(quick["resultType"] == "complete");
  CHECK(quick["content"][0]["text"] == "hi");

  // A tool that only runs as a task: at once with the extension, -32021 without.
  auto batch = body(f.mcp.handle(f.modern_tasks("tools/call", {{"name", "batch"}})))["result"];
  CHECK(batch["resultType"] == "task");
  CHECK(f.runner.waited.size() == 3);
  auto refused = f.mcp.handle(f.modern_tasks("tools/call", {{"name", "batch"}}, false));
  CHECK(refused.status == 400);
  CHECK(code(refused) == -32021);
  CHECK(body(refused)["error"]["data"]["requiredCapabilities"]
        == json{{"extensions", {{ext, json::object()}}}});
}

TEST_CASE("2026-07-28: tasks/get carries the result; tasks/cancel and tasks/update acknowledge") {
  tasks_fixture f;
  (void)f.mcp.handle(f.modern_tasks("tools/call", {{"name", "batch"}}));
  auto id = f.runner.calls.at(0).key;
  auto get = [&] {
    return body(f.mcp.handle(f.modern_tasks("tasks/get", {{"taskId", id}})))["result"];
  };
  auto working = get();
  CHECK(working["resultType"] == "complete");
  CHECK(working["status"] == "working");
  CHECK_FALSE(working.contains("result"));

  f.runner.views[id] = finished_view({tool_outcome::kind::succeeded, "ok", "", id});
  auto done = get();
  CHECK(done["status"] == "completed");
  CHECK(done["result"]["content"][0]["text"] == "ok");
  CHECK(done["result"]["isError"] == false);
  f.runner.views[id] = finished_view({tool_outcome::kind::dead, "", "boom", id});
  auto dead = get();
  CHECK(dead["status"] == "completed"); // the extension: isError results are completed
  CHECK(dead["result"]["isError"] == true);
  f.runner.views[id] = finished_view({tool_outcome::kind::cancelled, "", "", id});
  CHECK(get()["status"] == "cancelled");

  f.runner.views.clear();
  auto ack = body(f.mcp.handle(f.modern_tasks("tasks/cancel", {{"taskId", id}})))["result"];
  CHECK(ack["resultType"] == "complete");
  CHECK(f.runner.cancelled == std::vector<std::string>{id});
  auto update =
    f.modern_tasks("tasks/update", {{"taskId", id}, {"inputResponses", json::object()}});
  CHECK(body(f.mcp.handle(update))["result"]["resultType"] == "complete");

  auto mismatch = f.modern_tasks("tasks/get", {{"taskId", id}});
  mismatch.headers["mcp-name"] = "someone-else";
  CHECK(code(f.mcp.handle(mismatch)) == -32020);
  auto undeclared = f.mcp.handle(f.modern_tasks("tasks/get", {{"taskId", id}}, false));
  CHECK(undeclared.status == 400);
  CHECK(code(undeclared) == -32021);
  auto unknown = f.mcp.handle(f.modern_tasks("tasks/get", {{"taskId", "t-1"}}));
  CHECK(unknown.status == 400);
  CHECK(code(unknown) == -32602);
  auto result = f.mcp.handle(f.modern_tasks("tasks/result", {{"taskId", id}}));
  CHECK(result.status == 404);
  CHECK(code(result) == -32601);
}
