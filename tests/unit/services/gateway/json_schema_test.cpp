// The gateway's JSON Schema subset: every test of the official JSON-Schema-Test-Suite for the
// keywords it supports passes, a group whose schema uses anything else is refused at compile
// time (never half-checked), and its answers say which field is wrong and why.
#include "services/gateway/json_schema.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using smith::services::gateway::json_equal;
using smith::services::gateway::json_schema;
using smith::services::gateway::schema_error;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path suite_dir() {
  const char* dir = std::getenv("JSON_SCHEMA_TEST_SUITE");
  REQUIRE_MESSAGE(dir != nullptr, "JSON_SCHEMA_TEST_SUITE is not set: run through meson test");
  REQUIRE_MESSAGE(fs::is_directory(dir), dir << " is missing: scripts/install-deps installs "
                                                "the json-schema-test-suite package");
  return dir;
}

json read_json(const fs::path& path) {
  std::ifstream in{path};
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  return json::parse(in);
}

struct tally {
  int run = 0;     // tests whose verdict was compared
  int refused = 0; // groups refused at compile time
};

tally run_file(const std::string& name) {
  tally t;
  for (const auto& group : read_json(suite_dir() / (name + ".json"))) {
    auto description = group["description"].get<std::string>();
    std::optional<json_schema> schema;
    try {
      schema.emplace(json_schema::compile(group["schema"]));
    } catch (const schema_error& e) {
      // Refused, and for the reason it must be: a keyword (or form) we do not check.
      INFO(name << ": " << description);
      CHECK_MESSAGE(std::string{e.what()}.find("not supported") != std::string::npos, e.what());
      ++t.refused;
      continue;
    }
    for (const auto& test : group["tests"]) {
      auto valid = test["valid"].get<bool>();
      auto violations = schema->validate(test["data"]);
      INFO(name << ": " << description << ": " << test["description"].get<std::string>() << ": "
                << test["data"].dump());
      CHECK(violations.empty() == valid);
      for (const auto& v : violations)
        CHECK_FALSE(v.why.empty());
      ++t.run;
    }
  }
  return t;
}

} // namespace

TEST_CASE("every suite test of a supported keyword passes; other schemas are refused") {
  // The keyword files of the supported subset, and how many of their tests ran with the
  // suite's Debian package (2.0.0): at least that many must run, so a suite that could not be
  // read, or a subset that refused more than it should, fails here.
  const std::vector<std::pair<std::string, int>> files{
    {"type", 59},     {"properties", 10},     {"required", 7}, {"additionalProperties", 6},
    {"enum", 9},      {"const", 12},          {"minimum", 4},  {"maximum", 4},
    {"minLength", 5}, {"maxLength", 5},       {"items", 5},    {"minItems", 4},
    {"maxItems", 4},  {"boolean_schema", 18}, {"default", 4},
  };

  int total = 0;
  for (const auto& [name, at_least] : files) {
    auto t = run_file(name);
    CHECK_MESSAGE(t.run >= at_least,
                  name << ": only " << t.run << " tests ran, " << t.refused << " groups refused");
    total += t.run;
  }
  MESSAGE(total << " suite tests run");
}

TEST_CASE("a keyword the gateway does not check is refused, naming where it is") {
  auto refusal = [](const json& doc) {
    try {
      (void)json_schema::compile(doc);
    } catch (const schema_error& e) {
      return std::string{e.what()};
    }
    return std::string{"compiled"};
  };
  CHECK(refusal(json{{"type", "object"},
                     {"properties", {{"path", {{"type", "string"}, {"pattern", "^/"}}}}}})
          .starts_with("/properties/path/pattern: \"pattern\" is not supported"));
  CHECK(refusal(json{{"format", "email"}}).starts_with("/format: "));
  CHECK(refusal(json{{"$ref", "#/$defs/x"}}).starts_with("/$ref: "));
  CHECK(refusal(json{{"items", json::array({json::object()})}}).find("tuple") != std::string::npos);
  CHECK(refusal(json{{"type", "text"}}).starts_with("/type: unknown type \"text\""));
  CHECK(refusal(json{{"minLength", -1}}).starts_with("/minLength: must be a whole number"));
  CHECK(refusal(json{{"required", json::array({"a", "a"})}}).find("twice") != std::string::npos);
  CHECK(refusal(json{{"$schema", "http://json-schema.org/draft-04/schema#"}})
          .starts_with("/$schema: only JSON Schema 2020-12 or draft-07"));
  CHECK(refusal(json("object")).starts_with("(schema): a schema is an object or a boolean"));
  CHECK(refusal(json{{"properties", {{"a/b~c", {{"uniqueItems", true}}}}}})
          .starts_with("/properties/a~1b~0c/uniqueItems: "));
  // Annotations describe and are accepted.
  CHECK(refusal(json{{"title", "t"},
                     {"description", "d"},
                     {"default", 1},
                     {"examples", {1}},
                     {"$comment", "c"},
                     {"deprecated", false},
                     {"readOnly", false},
                     {"writeOnly", false},
                     {"$schema", "https://json-schema.org/draft/2020-12/schema"}})
        == "compiled");
  // Deep nesting stops at the limit.
  json deep = json::object();
  for (int i = 0; i < 40; ++i)
    deep = json{{"items", deep}};
  CHECK(refusal(deep).find("nested deeper than 32") != std::string::npos);
}

TEST_CASE("a violation says which field and why") {
  auto schema = json_schema::compile(json::parse(R"({
    "type": "object",
    "properties": {
      "argv": {"type": "array", "items": {"type": "string", "maxLength": 4}, "minItems": 1},
      "mode": {"enum": ["fast", "safe"]},
      "n": {"type": "integer", "minimum": 1, "maximum": 10}
    },
    "required": ["argv"],
    "additionalProperties": false
  })"));
  CHECK(schema.validate(json::parse(R"({"argv": ["make"], "mode": "safe", "n": 3})")).empty());

  auto v = schema.validate(
    json::parse(R"({"argv": ["make", "install"], "mode": "slow", "n": 2.5, "x/y": 1})"));
  REQUIRE(v.size() == 4);
  std::map<std::string, std::string> by_place;
  for (const auto& one : v)
    by_place[one.where] = one.why;
  CHECK(by_place["/argv/1"] == "is 7 characters, more than the maximum 4");
  CHECK(by_place["/mode"] == R"(must be one of ["fast","safe"], not "slow")");
  CHECK(by_place["/n"] == "must be integer, not 2.5");
  CHECK(by_place["/x~1y"] == "is not a property this schema knows (additionalProperties is false)");

  v = schema.validate(json::parse(R"({"n": 11})"));
  REQUIRE(v.size() == 2);
  CHECK(v[0].where.empty());
  CHECK(v[0].why == R"(the property "argv" is required)");
  CHECK(v[1].why == "11 is above the maximum 10");

  CHECK(schema.validate(json::array())[0].why == "must be object, not []");
  // At most `limit` violations.
  json many = json::object();
  for (int i = 0; i < 100; ++i)
    many["extra" + std::to_string(i)] = i;
  CHECK(schema.validate(many, 5).size() == 5);
}

TEST_CASE("numbers compare by value whatever their representation") {
  CHECK(json_equal(json(1), json(1.0)));
  CHECK(json_equal(json(std::uint64_t{18446744073709551615ULL}),
                   json(std::uint64_t{18446744073709551615ULL})));
  CHECK_FALSE(json_equal(json(std::int64_t{9007199254740993}), json(9007199254740992.0)));
  CHECK_FALSE(json_equal(json(false), json(0)));
  CHECK(json_equal(json::parse(R"({"a":[1,{"b":2.0}]})"), json::parse(R"({"a":[1.0,{"b":2}]})")));
  auto big = json_schema::compile(json{{"maximum", std::int64_t{9007199254740992}}});
  CHECK(big.validate(json(std::int64_t{9007199254740993})).size() == 1);
  CHECK(big.validate(json(std::uint64_t{18446744073709551615ULL})).size() == 1);
  CHECK(big.validate(json(-1.5e300)).empty());
  auto chars = json_schema::compile(json{{"maxLength", 2}});
  CHECK(chars.validate(json("\xF0\x9F\x92\xA9\xF0\x9F\x92\xA9")).empty()); // two code points
  CHECK(chars.validate(json("abc")).size() == 1);
}
