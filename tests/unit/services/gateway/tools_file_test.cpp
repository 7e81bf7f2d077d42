// The gateway's tools file: what it offers, how arguments become payloads, and every way a
// file is refused (with its place), since a tool must never check less than it says.
#include "services/gateway/tools_file.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

using namespace smith::services::gateway;
using json = nlohmann::json;

namespace {

const char* const good = R"({"tools": [
  {"name": "echo", "description": "Returns its arguments.", "role": "execute", "type": "echo",
   "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}},
  {"name": "hash", "title": "SHA-256", "description": "Hashes the text.", "role": "analyze",
   "type": "hash", "timeout": "5s", "payload": {"argument": "text"},
   "input_schema": {"type": "object", "properties": {"text": {"type": "string"}},
                    "required": ["text"], "additionalProperties": false},
   "output_schema": {"type": "object", "properties": {"sha256": {"type": "string"}}}},
  {"name": "count_matches", "description": "Counts lines that match.", "role": "analyze",
   "type": "exec",
   "payload": {"template": {"argv": ["grep", "-c", "-e", "{{pattern}}"], "stdin": "{{text}}",
                            "timeout_ms": "{{timeout_ms}}"}},
   "input_schema": {"type": "object",
                    "properties": {"pattern": {"type": "string"}, "text": {"type": "string"},
                                   "timeout_ms": {"type": "integer", "minimum": 1}},
                    "required": ["pattern", "text"]}}
]})";

std::string refusal(const std::string& text) {
  try {
    (void)parse_tools_file(text);
  } catch (const tools_file_error& e) {
    return e.what();
  }
  return "accepted";
}

// A file of one tool: the good echo tool with `field` set to `value` (null removes it).
std::string one(const std::string& field, const json& value) {
  json t = json::parse(good)["tools"][0];
  if (value.is_null())
    t.erase(field);
  else
    t[field] = value;
  return json{{"tools", {t}}}.dump();
}

} // namespace

TEST_CASE("a tools file offers its tools in order, described as tools/list shows them") {
  auto f = parse_tools_file(good);
  REQUIRE(f.tools.size() == 3);
  CHECK(f.tools[0].name == "echo");
  CHECK(f.tools[0].timeout == std::chrono::seconds{60});
  CHECK(f.tools[1].timeout == std::chrono::seconds{5});
  CHECK(f.tools[0].tasks == tool::task_support::optional);
  CHECK(f.tools[0].task_after == std::chrono::seconds{5});
  auto tasked = json::parse(good);
  tasked["tools"][0]["task"] = "required";
  tasked["tools"][0]["task_after"] = "0s";
  tasked["tools"][1]["task"] = "forbidden";
  auto t = parse_tools_file(tasked.dump());
  CHECK(t.tools[0].tasks == tool::task_support::required);
  CHECK(t.tools[0].task_after == std::chrono::milliseconds{0});
  CHECK(t.tools[1].tasks == tool::task_support::forbidden);
  CHECK(f.find("hash") == &f.tools[1]);
  CHECK(f.find("nope") == nullptr);
  auto d = describe(f.tools[1]);
  CHECK(d["name"] == "hash");
  CHECK(d["title"] == "SHA-256");
  CHECK(d["description"] == "Hashes the text.");
  CHECK(d["inputSchema"]["required"] == json::array({"text"}));
  CHECK(d["outputSchema"]["properties"].contains("sha256"));
  CHECK_FALSE(describe(f.tools[0]).contains("title"));
  CHECK_FALSE(describe(f.tools[0]).contains("outputSchema"));
}

TEST_CASE("arguments become the payload as the tool says") {
  auto f = parse_tools_file(good);
  // The arguments object as JSON.
  CHECK(payload_for(f.tools[0], json{{"text", "hi"}}) == R"({"text":"hi"})");
  // One argument: a string as its bytes.
  CHECK(payload_for(f.tools[1], json{{"text", "a b"}}) == "a b");
  // A template: whole values in place, an absent argument's member dropped; text that only
  // looks like an option stays one argv item (no shell, no splicing).
  CHECK(json::parse(payload_for(f.tools[2], json{{"pattern", "-v; rm -rf /"}, {"text", "x\ny"}}))
        == json::parse(R"({"argv":["grep","-c","-e","-v; rm -rf /"],"stdin":"x\ny"})"));
  CHECK(json::parse(payload_for(
          f.tools[2], json{{"pattern", "a"}, {"text", ""}, {"timeout_ms", 5}}))["timeout_ms"]
        == 5);
}

TEST_CASE("a file the gateway cannot honour is refused, naming the place") {
  CHECK(refusal("{").starts_with("tools file: not valid JSON"));
  CHECK(refusal(R"({"tools": []})").starts_with("tools: no tool is offered"));
  CHECK(refusal(R"({"tools": [], "extra": 1})").find("unknown field \"extra\"")
        != std::string::npos);
  CHECK(refusal(one("colour", "red")).starts_with("tools[0]: unknown field \"colour\""));
  CHECK(refusal(one("name", "has space")).starts_with("tools[0].name: 1 to 128"));
  CHECK(refusal(one("name", std::string(129, 'a'))).starts_with("tools[0].name: 1 to 128"));
  CHECK(refusal(one("description", nullptr)).find("\"description\" is required")
        != std::string::npos);
  CHECK(refusal(one("role", "a.b")).starts_with("tools[0] (echo).role: must be one subject token"));
  CHECK(refusal(one("type", "")).starts_with("tools[0] (echo).type: must be a non-empty string"));
  CHECK(refusal(one("timeout", "500ms")).starts_with("tools[0] (echo).timeout: a duration"));
  CHECK(refusal(one("timeout", "2d")).starts_with("tools[0] (echo).timeout: a duration"));
  CHECK(refusal(one("input_schema", json{{"type", "string"}}))
          .starts_with("tools[0] (echo).input_schema: the root must say \"type\": \"object\""));
  CHECK(refusal(one("input_schema", json::parse(R"({"type": "object",
                      "properties": {"p": {"type": "string", "format": "uri"}}})")))
          .starts_with("tools[0] (echo).input_schema: /properties/p/format: \"format\" is not"));
  CHECK(refusal(one("output_schema", json{{"type", "array"}}))
          .starts_with("tools[0] (echo).output_schema: the root must say"));
  CHECK(refusal(one("payload", json{{"argument", "missing"}}))
          .starts_with("tools[0] (echo).payload.argument: must name a property"));
  CHECK(refusal(one("payload", json{{"template", {{"argv", {"echo", "{{missing}}"}}}}}))
          .starts_with("tools[0] (echo).payload.template.argv[1]: \"{{missing}}\" names no"));
  CHECK(refusal(one("payload", "raw")).starts_with("tools[0] (echo).payload: must be"));
  CHECK(refusal(one("payload", json{{"argument", "text"}, {"template", 1}}))
          .starts_with("tools[0] (echo).payload: must be"));
  CHECK(refusal(one("task", "sometimes")).starts_with("tools[0] (echo).task: \"forbidden\""));
  CHECK(refusal(one("task_after", "2m")).starts_with("tools[0] (echo).task_after: a duration"));
  CHECK(refusal(one("task_after", "soon")).starts_with("tools[0] (echo).task_after: a duration"));
  json twice = json::parse(good);
  twice["tools"][1]["name"] = "echo";
  CHECK(refusal(twice.dump()).starts_with("tools[1].name: \"echo\" is offered twice"));
}

TEST_CASE("the image's tools file (deploy/gateway/tools.json) is one the gateway accepts") {
  const char* path = std::getenv("SHIPPED_TOOLS");
  REQUIRE_MESSAGE(path != nullptr, "SHIPPED_TOOLS is not set: run through meson test");
  std::ifstream in{path};
  REQUIRE(in.good());
  auto f = parse_tools_file(std::string{std::istreambuf_iterator<char>{in}, {}});
  CHECK(f.tools.size() >= 3);
  // Its exec tools run programs the seed roles allow by default (docs/WORKER.md).
  const std::map<std::string, std::set<std::string>> allowed{
    {"compile", {}},
    {"analyze", {"grep", "wc", "sha256sum", "file"}},
    {"execute", {"echo", "true", "false", "sleep"}}};
  for (const auto& t : f.tools) {
    INFO(t.name);
    REQUIRE(allowed.contains(t.role));
    if (t.type != "exec")
      continue;
    auto payload = json::parse(payload_for(t, json{{"text", "a"}, {"pattern", "a"}}));
    CHECK(allowed.at(t.role).contains(payload["argv"][0].get<std::string>()));
  }
}
