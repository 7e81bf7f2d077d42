// The gateway's MCP protocol layer, 2026-07-28 and the transport rules both revisions share,
// with a recording tool runner in place of NATS: each status, header rule and JSON-RPC error
// of the specification it follows.
#include "mcp_fixture.hpp"

using namespace mcp_testing;

TEST_CASE("2026-07-28: server/discover and tools/list answer with the fields the schema requires") {
  fixture f;
  auto d = f.mcp.handle(f.modern("server/discover", json::object(), "discover-1"));
  CHECK(d.status == 200);
  auto res = body(d)["result"];
  CHECK(body(d)["id"] == "discover-1");
  CHECK(res["resultType"] == "complete");
  CHECK(res["supportedVersions"] == json::array({"2026-07-28"}));
  CHECK(res["capabilities"].contains("tools"));
  CHECK(res["ttlMs"].get<int>() >= 0);
  CHECK(res["cacheScope"] == "public");
  CHECK(res["_meta"]["io.modelcontextprotocol/serverInfo"]
        == json{{"name", "smith-gateway"}, {"version", "1.2.3"}});

  auto l = body(f.mcp.handle(f.modern("tools/list")))["result"];
  CHECK(l["resultType"] == "complete");
  CHECK(l["cacheScope"] == "public");
  REQUIRE(l["tools"].size() == 2);
  CHECK(l["tools"][0]["name"] == "echo");
  CHECK(l["tools"][0]["inputSchema"]["required"] == json::array({"text"}));
  CHECK(l["tools"][1]["outputSchema"]["required"] == json::array({"total"}));
}

TEST_CASE("2026-07-28: headers must agree with the body; versions we do not serve are named") {
  fixture f;
  auto r = f.modern("tools/list");
  auto msg = json::parse(r.body);
  msg["params"].erase("_meta");
  r.body = msg.dump();
  auto missing = f.mcp.handle(r);
  CHECK(missing.status == 400);
  CHECK(code(missing) == -32602);

  r = f.modern("tools/list");
  r.headers["mcp-method"] = "tools/call";
  auto wrong_method = f.mcp.handle(r);
  CHECK(wrong_method.status == 400);
  CHECK(code(wrong_method) == -32020);
  r.headers.erase("mcp-method");
  CHECK(code(f.mcp.handle(r)) == -32020);

  r = f.modern("tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}});
  r.headers["mcp-name"] = "sum";
  CHECK(code(f.mcp.handle(r)) == -32020);
  r.headers["mcp-name"] = "=?base64?ZWNobw==?="; // "echo", encoded as the transport allows
  CHECK(f.mcp.handle(r).status == 200);
  r.headers.erase("mcp-name");
  CHECK(code(f.mcp.handle(r)) == -32020);

  r = f.modern("tools/list");
  r.headers["mcp-protocol-version"] = "2099-01-01";
  CHECK(code(f.mcp.handle(r)) == -32020); // header and body disagree
  msg = json::parse(r.body);
  msg["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2099-01-01";
  r.body = msg.dump();
  auto unsupported = f.mcp.handle(r);
  CHECK(unsupported.status == 400);
  CHECK(code(unsupported) == -32022);
  CHECK(body(unsupported)["error"]["data"]
        == json{{"supported", {"2026-07-28", "2025-11-25"}}, {"requested", "2099-01-01"}});

  auto unknown = f.mcp.handle(f.modern("prompts/list"));
  CHECK(unknown.status == 404);
  CHECK(code(unknown) == -32601);
}

TEST_CASE("the transport's rules: methods, notifications, batches, bad JSON, Origin, media types") {
  fixture f;
  for (const char* m : {"GET", "DELETE", "PUT"}) {
    auto r = f.modern("tools/list");
    r.method = m;
    auto a = f.mcp.handle(r);
    CHECK(a.status == 405);
    CHECK(a.headers["Allow"] == "POST");
  }
  auto get = f.legacy("ping");
  get.method = "GET";
  CHECK(f.mcp.handle(get).status == 405);

  auto n = f.modern("tools/list");
  n.body = R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})";
  auto accepted = f.mcp.handle(n);
  CHECK(accepted.status == 202);
  CHECK(accepted.body.empty());

  auto bad = f.modern("tools/list");
  bad.body = "[" + bad.body + "]";
  CHECK(f.mcp.handle(bad).status == 400);
  CHECK(code(f.mcp.handle(bad)) == -32600);
  bad.body = "{not json";
  auto parse = f.mcp.handle(bad);
  CHECK(parse.status == 400);
  CHECK(code(parse) == -32700);
  CHECK_FALSE(body(parse).contains("id")); // an error about an unreadable message has no id
  // Deep nesting is refused before anything writes it out (dump is recursive).
  auto deep = json::parse(f.modern("tools/call", {{"name", "echo"}}).body);
  std::string nested(200'000, '[');
  deep["params"]["arguments"] = {{"text", "x"}};
  bad.body = deep.dump();
  bad.body.insert(bad.body.find("\"text\""),
                  "\"deep\":" + nested + std::string(200'000, ']') + ",");
  auto too_deep = f.mcp.handle(bad);
  CHECK(too_deep.status == 400);
  CHECK(body(too_deep)["error"]["message"] == "the message nests deeper than 64");
  CHECK(f.runner.calls.empty());
  bad.body = R"({"jsonrpc":"2.0","id":null,"method":"tools/list"})";
  CHECK(code(f.mcp.handle(bad)) == -32600);
  bad.body = R"({"jsonrpc":"2.0","id":1,"result":{}})";
  CHECK(f.mcp.handle(bad).status == 400); // 2026-07-28 clients send no responses
  bad.body = R"({"jsonrpc":"1.0","id":1,"method":"tools/list"})";
  CHECK(code(f.mcp.handle(bad)) == -32600);

  auto o = f.modern("tools/list");
  o.headers["origin"] = "http://evil.example";
  CHECK(f.mcp.handle(o).status == 403);
  o.headers["origin"] = "http://localhost:6274";
  CHECK(f.mcp.handle(o).status == 200);

  auto a = f.modern("tools/list");
  a.headers["accept"] = "text/html";
  CHECK(f.mcp.handle(a).status == 406);
  a.headers.erase("accept"); // no Accept header accepts anything
  CHECK(f.mcp.handle(a).status == 200);
  a = f.modern("tools/list");
  a.headers["content-type"] = "text/plain";
  CHECK(f.mcp.handle(a).status == 415);
}

TEST_CASE("tools/call: unknown tools and malformed calls are errors; bad arguments run nothing") {
  fixture f;
  auto unknown =
    f.mcp.handle(f.modern("tools/call", {{"name", "rm"}, {"arguments", json::object()}}));
  CHECK(unknown.status == 400);
  CHECK(code(unknown) == -32602);
  CHECK(body(unknown)["error"]["message"] == "Unknown tool: rm");
  CHECK(code(f.mcp.handle(f.modern("tools/call", {{"name", "echo"}, {"arguments", 3}}))) == -32602);

  auto invalid = f.mcp.handle(
    f.modern("tools/call", {{"name", "echo"}, {"arguments", {{"text", "far too long"}}}}));
  CHECK(invalid.status == 200);
  auto res = body(invalid)["result"];
  CHECK(res["isError"] == true);
  CHECK(res["resultType"] == "complete");
  CHECK(res["content"][0]["text"]
        == "Invalid arguments for tool echo:\n/text: is 12 characters, "
           "more than the maximum 10");
  CHECK(f.runner.calls.empty());
}

TEST_CASE("tools/call: the task's outcome is the result; output is checked against its schema") {
  fixture f;
  auto ok = body(f.mcp.handle(
    f.modern("tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}})))["result"];
  REQUIRE(f.runner.calls.size() == 1);
  CHECK(f.runner.calls[0].arguments == json{{"text", "hi"}});
  CHECK(ok["isError"] == false);
  CHECK(ok["content"][0] == json{{"type", "text"}, {"text", "done"}});
  CHECK_FALSE(ok.contains("structuredContent"));

  f.runner.next = {tool_outcome::kind::succeeded, R"({"total": 3})", "", "t-2"};
  auto sum = body(f.mcp.handle(f.modern("tools/call", {{"name", "sum"}})))["result"];
  CHECK(sum["structuredContent"] == json{{"total", 3}});
  f.runner.next = {tool_outcome::kind::succeeded, R"({"total": "three"})", "", "t-3"};
  auto off = body(f.mcp.handle(f.modern("tools/call", {{"name", "sum"}})))["result"];
  CHECK(off["isError"] == true);
  CHECK(off["content"][0]["text"].get<std::string>().find("/total: must be integer")
        != std::string::npos);

  f.runner.next = {tool_outcome::kind::failed, "", "exit status 2", "t-4"};
  auto failed = body(f.mcp.handle(
    f.modern("tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}})))["result"];
  CHECK(failed["isError"] == true);
  CHECK(failed["content"][0]["text"] == "echo failed (task t-4): exit status 2");
  f.runner.next = {tool_outcome::kind::timed_out, "", "", "t-5"};
  auto late = body(f.mcp.handle(
    f.modern("tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}})))["result"];
  CHECK(late["content"][0]["text"]
        == "no result from echo (task t-5) within 60s; the task goes on");
}

TEST_CASE("tools/call with a progress token streams increasing progress, then the result") {
  fixture f;
  f.runner.progress_steps = {10, 10, 5, 50};
  auto req = f.modern(
    "tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}, {"_meta", json::object()}});
  auto msg = json::parse(req.body);
  msg["params"]["_meta"]["progressToken"] = "p-1";
  req.body = msg.dump();
  auto r = f.mcp.handle(req);
  auto sent = drain(r);
  REQUIRE(sent.size() == 3);
  CHECK(sent[0]["method"] == "notifications/progress");
  CHECK(
    sent[0]["params"]
    == json{{"progressToken", "p-1"}, {"progress", 10.0}, {"total", 100}, {"message", "at 10"}});
  CHECK(sent[1]["params"]["progress"] == 50.0);
  CHECK(sent[2]["id"] == 1);
  CHECK(sent[2]["result"]["content"][0]["text"] == "done");

  // Without text/event-stream in Accept, the answer is one JSON object.
  req.headers["accept"] = "application/json";
  auto plain = f.mcp.handle(req);
  CHECK_FALSE(plain.events);
  CHECK(body(plain)["result"]["isError"] == false);
}

TEST_CASE("2026-07-28: a closed stream cancels the call and nothing more is sent") {
  fixture f;
  f.runner.progress_steps = {1};
  f.runner.wait_cancel = true;
  auto req = f.modern("tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}});
  auto msg = json::parse(req.body);
  msg["params"]["_meta"]["progressToken"] = 9;
  req.body = msg.dump();
  auto sent = drain(f.mcp.handle(req), 0); // the client is gone before the first event
  CHECK(sent.empty());
  CHECK(f.runner.calls.size() == 1);
}

TEST_CASE("2026-07-28: a quiet stream gets keep-alive comments; one that fails cancels the call") {
  auto options = test_options();
  options.keep_alive = std::chrono::milliseconds{0};
  fixture f{options};
  f.runner.wait_cancel = true;
  auto req = f.modern("tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}});
  auto msg = json::parse(req.body);
  msg["params"]["_meta"]["progressToken"] = 9;
  req.body = msg.dump();
  auto sent = drain(f.mcp.handle(req), 3); // the client goes after three comments
  REQUIRE(sent.size() == 3);
  for (const auto& m : sent)
    CHECK(m.is_null()); // a comment, not a message
  CHECK(f.runner.calls.size() == 1);
}
