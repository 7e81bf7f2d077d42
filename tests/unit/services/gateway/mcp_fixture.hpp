// The MCP protocol tests' fixture: a tools file, a recording tool runner in place of NATS, and
// requests of either revision with their headers made right.
#pragma once

#include "services/gateway/mcp_protocol.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mcp_testing {

using namespace smith::services::gateway;
using json = nlohmann::json;

inline const char* const tools_text = R"({"tools": [
  {"name": "echo", "description": "Returns its text.", "role": "execute", "type": "echo",
   "input_schema": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 10}},
                    "required": ["text"]}},
  {"name": "sum", "description": "Adds.", "role": "execute", "type": "sum",
   "input_schema": {"type": "object"},
   "output_schema": {"type": "object", "properties": {"total": {"type": "integer"}},
                     "required": ["total"]}}
]})";

// Records each call; answers with `next`; reports `progress_steps` first; with `wait_cancel`,
// waits until the call is cancelled and reports that.
struct recording_runner : tool_runner {
  tool_outcome run(const tool& t, const json& arguments, const std::string& call_key,
                   const std::function<void(double, const std::string&)>& progress,
                   const std::function<bool()>& cancelled) override {
    {
      std::lock_guard guard{mtx};
      calls.push_back({t.name, arguments, call_key});
      cv.notify_all();
    }
    for (auto step : progress_steps)
      progress(step, "at " + std::to_string(static_cast<int>(step)));
    if (wait_cancel) {
      while (!cancelled())
        std::this_thread::yield();
      return tool_outcome{tool_outcome::kind::cancelled, "", "", "t-1"};
    }
    return next;
  }

  struct call {
    std::string tool;
    json arguments;
    std::string key;
  };
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<call> calls;
  std::vector<double> progress_steps;
  bool wait_cancel = false;
  tool_outcome next{tool_outcome::kind::succeeded, "done", "", "t-1"};
};

struct fixture {
  tools_file tools = parse_tools_file(tools_text);
  recording_runner runner;
  mcp_protocol mcp{tools, runner,
                   mcp_options{"smith-gateway", "1.2.3", {"http://localhost:6274"}, 2, {}}};

  // A 2026-07-28 request with its headers made right; `edit` may spoil them.
  mcp_request modern(const std::string& method, json params = json::object(), json id = 1) {
    params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                       {"io.modelcontextprotocol/clientCapabilities", json::object()}};
    mcp_request r{
      "POST",
      {{"accept", "application/json, text/event-stream"},
       {"content-type", "application/json"},
       {"mcp-protocol-version", "2026-07-28"},
       {"mcp-method", method}},
      json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump()};
    if (params.contains("name") && params["name"].is_string())
      r.headers["mcp-name"] = params["name"].get<std::string>();
    return r;
  }

  mcp_request legacy(const std::string& method, json params = json::object(),
                     const std::string& session = {}) {
    if (params.is_null()) // `{}` at a call site is null, not an empty object
      params = json::object();
    mcp_request r{
      "POST",
      {{"accept", "application/json, text/event-stream"}, {"content-type", "application/json"}},
      json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", params}}.dump()};
    if (!session.empty()) {
      r.headers["mcp-session-id"] = session;
      r.headers["mcp-protocol-version"] = "2025-11-25";
    }
    return r;
  }

  std::string initialize() {
    auto r = mcp.handle(legacy("initialize", {{"protocolVersion", "2025-11-25"},
                                              {"capabilities", json::object()},
                                              {"clientInfo", {{"name", "t"}, {"version", "1"}}}}));
    REQUIRE(r.status == 200);
    CHECK(json::parse(r.body)["result"]["protocolVersion"] == "2025-11-25");
    return r.headers.at("Mcp-Session-Id");
  }
};

inline json body(const mcp_response& r) {
  return json::parse(r.body);
}

inline int code(const mcp_response& r) {
  return body(r)["error"]["code"].get<int>();
}

// The messages a streamed answer sends, in order.
inline std::vector<json> drain(const mcp_response& r, int deliver = 1000) {
  std::vector<json> out;
  REQUIRE(r.events);
  r.events([&](const json& m) {
    if (deliver-- <= 0)
      return false;
    out.push_back(m);
    return true;
  });
  return out;
}

} // namespace mcp_testing
