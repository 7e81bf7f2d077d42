// The MCP protocol tests' fixture: a tools file, a recording tool runner in place of NATS, and
// requests of either revision with their headers made right.
#pragma once

#include "services/gateway/mcp_protocol.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <map>
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
// waits until the call is stopped and reports that. look() answers from `views` (the calls it
// queued are working until a view says otherwise); cancel() is recorded.
struct recording_runner : tool_runner {
  std::string submit(const tool& t, const json& arguments, const std::string& task_id) override {
    std::lock_guard guard{mtx};
    if (!refuse.empty())
      return refuse;
    calls.push_back({t.name, arguments, task_id});
    cv.notify_all();
    return {};
  }

  tool_outcome wait(const std::string& task_id, std::chrono::milliseconds timeout,
                    const std::function<void(double, const std::string&)>& progress,
                    const std::function<bool()>& stop) override {
    waited.push_back(timeout);
    for (auto step : progress_steps)
      progress(step, "at " + std::to_string(static_cast<int>(step)));
    if (wait_cancel) {
      while (!stop())
        std::this_thread::yield();
      return tool_outcome{tool_outcome::kind::cancelled, "", "", task_id};
    }
    return next;
  }

  std::optional<task_view> look(const std::string& task_id) override {
    std::lock_guard guard{mtx};
    if (auto it = views.find(task_id); it != views.end())
      return it->second;
    for (const auto& c : calls)
      if (c.key == task_id)
        return task_view{false, {}, "queued", "", 1'000, 1'000};
    return std::nullopt;
  }

  void cancel(const std::string& task_id) override {
    std::lock_guard guard{mtx};
    cancelled.push_back(task_id);
  }

  struct call {
    std::string tool;
    json arguments;
    std::string key; ///< the task id
  };
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<call> calls;
  std::vector<std::chrono::milliseconds> waited;
  std::vector<std::string> cancelled;
  std::map<std::string, task_view> views;
  std::vector<double> progress_steps;
  bool wait_cancel = false;
  std::string refuse;
  tool_outcome next{tool_outcome::kind::succeeded, "done", "", "t-1"};
};

// The options the tests start from: two sessions at most, one allowed origin.
inline mcp_options test_options() {
  mcp_options o;
  o.server_version = "1.2.3";
  o.allowed_origins = {"http://localhost:6274"};
  o.max_sessions = 2;
  return o;
}

struct fixture {
  explicit fixture(mcp_options options = test_options(), const char* tools_json = tools_text)
    : tools{parse_tools_file(tools_json)}, mcp{tools, runner, std::move(options)} {
  }

  tools_file tools;
  recording_runner runner;
  mcp_protocol mcp;

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
