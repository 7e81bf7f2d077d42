// `smith gateway` as AI agents reach it: a real nats-server, a real `smith worker`, the gateway
// process, and the official MCP Python SDK as the client, in the 2026-07-28 mode (its default)
// and with the 2025-11-25 handshake forced.
#include "../worker/worker_harness.hpp"

#include "support/command.hpp"

#include <nlohmann/json.hpp>

using namespace smith::testing;
using json = nlohmann::json;

namespace {

const char* const sdk_tools_text = R"({"tools": [
  {"name": "echo", "description": "Returns its arguments.", "role": "test", "type": "echo",
   "input_schema": {"type": "object", "properties": {"text": {"type": "string"}},
                    "required": ["text"]}},
  {"name": "nap", "description": "Sleeps, reporting progress.", "role": "test", "type": "sleep",
   "payload": {"template": {"ms": "{{ms}}"}},
   "input_schema": {"type": "object", "properties": {"ms": {"type": "integer", "maximum": 5000}},
                    "required": ["ms"]}}
]})";

// The Python of the test venv (scripts/test-venv), which holds the pinned MCP SDK.
std::string venv_python() {
  const char* python = std::getenv("PROMETHEUS_PYTHON");
  REQUIRE_MESSAGE(python != nullptr, "PROMETHEUS_PYTHON is not set: run through meson test");
  REQUIRE_MESSAGE(std::filesystem::exists(python),
                  python << " is missing: run scripts/test-venv (./dev test does)");
  return python;
}

struct gateway_process {
  gateway_process(const std::string& nats_url, const temp_dir& dir, const std::string& token)
    : http_port(free_port()), tools(dir.path() / "tools.json"), log(dir.path() / "gateway.log") {
    std::ofstream{tools} << sdk_tools_text;
    ::setenv("SMITH_NATS_URL", nats_url.c_str(), 1);
    ::setenv("SMITH_API_TOKEN", token.c_str(), 1);
    process =
      child_process::spawn({smith_binary(), "gateway", "--tools", tools.string(), "--http-host",
                            "127.0.0.1", "--http-port", std::to_string(http_port)},
                           log);
    ::unsetenv("SMITH_API_TOKEN");
  }

  int status(const std::string& path) const {
    httplib::Client cli{"127.0.0.1", http_port};
    auto res = cli.Get(path.c_str());
    return res ? res->status : 0;
  }

  std::string log_text() const {
    std::ifstream in{log};
    return {std::istreambuf_iterator<char>{in}, {}};
  }

  int http_port;
  std::filesystem::path tools;
  std::filesystem::path log;
  child_process process;
};

} // namespace

TEST_CASE("the official MCP Python SDK lists and calls tools, with progress, in both revisions") {
  server_fixture f{"gateway-sdk"};
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  gateway_process g{f.s.server.url(), f.dir, "s3cret-token"};
  REQUIRE_MESSAGE(wait_until([&] { return g.status("/ready") == 200; }, 20s), g.log_text());
  CHECK(g.status("/health") == 200);

  // Without the token: 401, and nothing runs.
  httplib::Client cli{"127.0.0.1", g.http_port};
  auto anonymous =
    cli.Post("/mcp", R"({"jsonrpc":"2.0","id":1,"method":"ping"})", "application/json");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);

  auto url = "http://127.0.0.1:" + std::to_string(g.http_port) + "/mcp";
  const char* client = std::getenv("GATEWAY_CLIENT");
  REQUIRE_MESSAGE(client != nullptr, "GATEWAY_CLIENT is not set: run through meson test");
  auto r =
    run_command({venv_python(), client, url, "s3cret-token", "auto", "legacy"}, {}, {}, 120s);
  INFO("client: " << r.out << r.err << "\ngateway: " << g.log_text());
  REQUIRE(r.exit_code == 0);
  std::vector<json> seen;
  std::istringstream lines{r.out};
  for (std::string line; std::getline(lines, line);)
    seen.push_back(json::parse(line));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0]["protocol"] == "2026-07-28");
  CHECK(seen[1]["protocol"] == "2025-11-25");
  for (const auto& s : seen) {
    INFO(s.dump());
    CHECK(s["tools"] == json::array({"echo", "nap"}));
    CHECK(s["nap"]["is_error"] == false);
    CHECK(s["nap"]["text"] == "slept 600 ms");
    // The sleep handler reports each 10 %: several reach the client, in increasing order.
    const auto& steps = s["progress"];
    CHECK(steps.size() >= 3);
    for (std::size_t i = 1; i < steps.size(); ++i)
      CHECK(steps[i][0].get<double>() > steps[i - 1][0].get<double>());
    CHECK(steps[0][1] == 100);
    CHECK(s["echo"]["is_error"] == false);
    CHECK(s["echo"]["structured"] == json{{"text", "hello"}});
    CHECK(s["bad"]["is_error"] == true);
    CHECK(s["bad"]["text"] == "Invalid arguments for tool echo:\n/text: must be string, not 5");
  }
  // Four calls per mode reached the worker as tasks, the bad ones did not: 2 × 2 results.
  CHECK(f.results.distinct() == 4);
}

TEST_CASE("the gateway refuses at start a tools file it cannot honour, and an open address") {
  temp_dir dir{"gateway-start"};
  auto tools = dir.path() / "tools.json";
  auto start = [&](const std::string& text, std::vector<std::string> extra,
                   std::map<std::string, std::string> env) {
    std::ofstream{tools} << text;
    std::vector<std::string> argv{smith_binary(), "gateway", "--tools", tools.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env["SMITH_NATS_URL"] = "nats://127.0.0.1:1"; // never reached: the checks come first
    return run_command(argv, env, {}, 20s);
  };
  auto pattern = json::parse(sdk_tools_text);
  pattern["tools"][0]["input_schema"]["properties"]["text"]["pattern"] = "^a";
  auto r = start(pattern.dump(), {"--http-host", "127.0.0.1"}, {});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("tools[0] (echo).input_schema: /properties/text/pattern: \"pattern\" "
                           "is not supported")
                  != std::string::npos,
                r.err);
  r = start(sdk_tools_text, {}, {}); // 0.0.0.0 without a token
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("--insecure-no-auth") != std::string::npos, r.err);
  r = start("{}", {"--http-host", "127.0.0.1"}, {});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("must be an object with a \"tools\" array") != std::string::npos);
}
