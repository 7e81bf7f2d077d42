// The gateway's MCP protocol layer in revision 2025-11-25: the initialize handshake, sessions,
// ping, and notifications/cancelled.
#include "mcp_fixture.hpp"

using namespace mcp_testing;

TEST_CASE("2025-11-25: initialize opens a session; requests need it; DELETE ends it") {
  fixture f;
  auto s = f.initialize();
  CHECK(s.size() == 32);
  CHECK(s.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(body(f.mcp.handle(f.legacy("ping", {}, s)))["result"] == json::object());
  auto list = body(f.mcp.handle(f.legacy("tools/list", {}, s)))["result"];
  CHECK(list["tools"].size() == 2);
  CHECK_FALSE(list.contains("resultType"));

  auto none = f.mcp.handle(f.legacy("tools/list"));
  CHECK(none.status == 400);
  auto unknown = f.mcp.handle(f.legacy("tools/list", {}, "feedface"));
  CHECK(unknown.status == 404);
  auto wrong_version = f.legacy("tools/list", {}, s);
  wrong_version.headers["mcp-protocol-version"] = "2025-06-18";
  CHECK(f.mcp.handle(wrong_version).status == 400);
  CHECK(f.mcp.handle(f.legacy("resources/list", {}, s)).status == 200);
  CHECK(code(f.mcp.handle(f.legacy("resources/list", {}, s))) == -32601);

  // An initialized notification, and a response, are accepted with 202.
  auto n = f.legacy("x", {}, s);
  n.body = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";
  CHECK(f.mcp.handle(n).status == 202);

  auto del = f.legacy("x", {}, s);
  del.method = "DELETE";
  CHECK(f.mcp.handle(del).status == 200);
  CHECK(f.mcp.handle(f.legacy("ping", {}, s)).status == 404);

  // Past max_sessions (2 here) the oldest is forgotten.
  auto a = f.initialize();
  auto b = f.initialize();
  auto c = f.initialize();
  CHECK(f.mcp.handle(f.legacy("ping", {}, a)).status == 404);
  CHECK(f.mcp.handle(f.legacy("ping", {}, c)).status == 200);
  CHECK(f.mcp.handle(f.legacy("ping", {}, b)).status == 200);
}

TEST_CASE("2025-11-25: notifications/cancelled stops the call; its key is session and id") {
  fixture f;
  auto s = f.initialize();
  f.runner.wait_cancel = true;
  mcp_response answer;
  std::thread caller{[&] {
    answer =
      f.mcp.handle(f.legacy("tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}}, s));
  }};
  {
    std::unique_lock lock{f.runner.mtx};
    f.runner.cv.wait(lock, [&] { return !f.runner.calls.empty(); });
  }
  auto cancel = f.legacy("x", {}, s);
  cancel.body = R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}})";
  CHECK(f.mcp.handle(cancel).status == 202);
  caller.join();
  auto res = body(answer)["result"];
  CHECK(res["isError"] == true);
  CHECK(res["content"][0]["text"] == "echo (task " + f.runner.calls[0].key + ") was cancelled");
  CHECK(f.runner.calls[0].key == mcp_task_id("echo", "session " + s + " 7"));
  CHECK(f.runner.cancelled == std::vector<std::string>{f.runner.calls[0].key});
}

TEST_CASE("2025-11-25: a session unused for session_idle is forgotten") {
  auto options = test_options();
  options.session_idle = std::chrono::milliseconds{0};
  fixture gone{options};
  auto s = gone.initialize();
  CHECK(gone.mcp.handle(gone.legacy("ping", {}, s)).status == 404);

  options.session_idle = std::chrono::hours{1};
  fixture kept{options};
  auto k = kept.initialize();
  CHECK(kept.mcp.handle(kept.legacy("ping", {}, k)).status == 200);
  CHECK(kept.mcp.handle(kept.legacy("ping", {}, k)).status == 200);
}
