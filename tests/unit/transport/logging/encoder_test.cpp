// The log line encoder: every value escaped, invalid UTF-8 replaced, no key twice, the line
// shape the operators' queries rely on.
#include "json_keys.hpp"
#include "transport/logging/encoder.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace smith::transport::logging;
using namespace std::string_literals;
using smith::testing::parse_line;

namespace {

std::string as_json(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string body(std::string_view msg, std::initializer_list<field> fields) {
  std::string out;
  append_body(out, msg, std::span<const field>{fields.begin(), fields.size()});
  return out;
}

std::string line(std::string_view msg, std::initializer_list<field> fields) {
  std::string out;
  append_line(out, std::chrono::system_clock::time_point{}, level::info, "test", body(msg, fields));
  return out;
}

} // namespace

TEST_CASE("quotes, backslashes and control characters are escaped") {
  CHECK(as_json("plain") == R"("plain")");
  CHECK(as_json(R"(a"b)") == R"("a\"b")");
  CHECK(as_json(R"(a\b)") == R"("a\\b")");
  CHECK(as_json("a\nb\r\t") == R"("a\u000ab\u000d\u0009")");
  CHECK(as_json("\x01\x1f\x7f") == R"("\u0001\u001f\u007f")");
  CHECK(as_json("nul\0here"s) == R"("nul\u0000here")");
  CHECK(as_json("") == R"("")");
}

TEST_CASE("valid UTF-8 passes as it is; every byte of invalid UTF-8 becomes \\ufffd") {
  CHECK(as_json("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")
        == "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  CHECK(as_json("a\xFFz") == R"("a\ufffdz")");
  CHECK(as_json("\xC0\x80") == R"("\ufffd\ufffd")");           // overlong NUL
  CHECK(as_json("\xED\xA0\x80") == R"("\ufffd\ufffd\ufffd")"); // a surrogate
  CHECK(as_json("\xE2\x82") == R"("\ufffd\ufffd")");           // cut short
  CHECK(as_json("\xE2\x82\"") == R"("\ufffd\ufffd\"")");       // cut short by a quote
  // Whatever the bytes, the result is a JSON string that decodes.
  std::string all;
  for (int c = 0; c < 256; ++c)
    all += static_cast<char>(c);
  auto doc = nlohmann::json::parse(as_json(all + all), nullptr, false);
  REQUIRE(doc.is_string());
  CHECK(doc.get<std::string>().substr(0, 128) == all.substr(0, 128));
}

TEST_CASE("a value that tries to forge fields stays one string") {
  auto forged = R"(x","duration_ms":99999,"error_type":"forged)"s;
  auto text = line("task_duration", {{"task_id", forged}, {"duration_ms", 12}});
  CHECK(text.find(R"("duration_ms":99999)") == std::string::npos);
  CHECK(text.find(R"("error_type":")") == std::string::npos);
  auto p = parse_line(text);
  REQUIRE_FALSE(p.doc.is_discarded());
  CHECK(p.unique_keys);
  CHECK(p.doc["task_id"] == forged);
  CHECK(p.doc["duration_ms"] == 12);
  CHECK_FALSE(p.doc.contains("error_type"));
}

TEST_CASE("a line has ts, level, logger and msg first, then the fields in order") {
  auto t = std::chrono::system_clock::time_point{std::chrono::milliseconds{1767323045678}};
  std::string out;
  append_line(out, t, level::warn, "worker", body("hello", {{"n", 1}, {"s", "x"}}));
  CHECK(
    out
    == R"({"ts":"2026-01-02T03:04:05.678Z","level":"WARN","logger":"worker","msg":"hello","n":1,"s":"x"})"
       "\n");
  std::string early;
  append_line(early, std::chrono::system_clock::time_point{std::chrono::milliseconds{5}},
              level::fatal, "cli", body("m", {}));
  CHECK(early.starts_with(R"({"ts":"1970-01-01T00:00:00.005Z","level":"FATAL","logger":"cli")"));
}

TEST_CASE("every level has its name") {
  CHECK(to_string(level::trace) == "TRACE");
  CHECK(to_string(level::debug) == "DEBUG");
  CHECK(to_string(level::info) == "INFO");
  CHECK(to_string(level::warn) == "WARN");
  CHECK(to_string(level::error) == "ERROR");
  CHECK(to_string(level::fatal) == "FATAL");
  CHECK(parse_level("WARNING") == level::warn);
  CHECK(parse_level("critical") == level::fatal);
  CHECK(parse_level("Off") == level::off);
  CHECK_FALSE(parse_level("loud").has_value());
}

TEST_CASE("strings, integers, doubles and bools are written as JSON; an empty optional is left "
          "out") {
  std::optional<std::string> none;
  std::optional<std::string> some = "here";
  auto text = line("values", {{"s", "text"},
                              {"min", std::numeric_limits<std::int64_t>::min()},
                              {"max", std::numeric_limits<std::uint64_t>::max()},
                              {"small", std::uint8_t{7}},
                              {"d", 0.25},
                              {"nan", std::nan("")},
                              {"inf", std::numeric_limits<double>::infinity()},
                              {"yes", true},
                              {"no", false},
                              {"none", none},
                              {"some", some}});
  auto p = parse_line(text);
  REQUIRE_FALSE(p.doc.is_discarded());
  auto& d = p.doc;
  CHECK(d["s"] == "text");
  CHECK(d["min"].get<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
  CHECK(d["max"].get<std::uint64_t>() == std::numeric_limits<std::uint64_t>::max());
  CHECK(d["small"] == 7);
  CHECK(d["d"] == 0.25);
  CHECK(d["nan"].is_null());
  CHECK(d["inf"].is_null());
  CHECK(d["yes"] == true);
  CHECK(d["no"] == false);
  CHECK_FALSE(d.contains("none"));
  CHECK(d["some"] == "here");
}

TEST_CASE("a field with a reserved key is renamed, never written as a second ts, level, logger or "
          "msg") {
  auto text = line("real", {{"ts", "x"}, {"level", "ERROR"}, {"logger", "y"}, {"msg", "fake"}});
  auto p = parse_line(text);
  REQUIRE_FALSE(p.doc.is_discarded());
  CHECK(p.unique_keys);
  CHECK(p.doc["level"] == "INFO");
  CHECK(p.doc["msg"] == "real");
  CHECK(p.doc["logger"] == "test");
  CHECK(p.doc["ts_2"] == "x");
  CHECK(p.doc["level_2"] == "ERROR");
  CHECK(p.doc["logger_2"] == "y");
  CHECK(p.doc["msg_2"] == "fake");
  CHECK(is_reserved_key("msg"));
  CHECK_FALSE(is_reserved_key("task_id"));
}

TEST_CASE("a duplicate field is renamed <key>_2, _3, ...: nothing is lost, no key is there twice") {
  auto text = line("dups", {{"a", 1}, {"a", 2}, {"a_2", 3}, {"a", 4}});
  CHECK(text.ends_with(R"("msg":"dups","a":1,"a_2":2,"a_2_2":3,"a_3":4})"
                       "\n"));
  auto p = parse_line(text);
  REQUIRE_FALSE(p.doc.is_discarded());
  CHECK(p.unique_keys);
}

TEST_CASE("keys and the message are escaped too") {
  auto p = parse_line(line("m\"sg", {{"k\"ey", "v"}}));
  REQUIRE_FALSE(p.doc.is_discarded());
  CHECK(p.doc["msg"] == "m\"sg");
  CHECK(p.doc["k\"ey"] == "v");
}
