// The worker's /metrics: task types are a client's strings, so whatever they hold, the scrape
// stays one well-formed exposition with one series per type, and at most max_types of them.
#include "actors/metrics.hpp"
#include "transport/wire/utf8.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <map>
#include <sstream>
#include <type_traits>
#include <vector>

using smith::actors::metrics;
using namespace std::chrono_literals;

static_assert(!std::is_copy_constructible_v<metrics>);
static_assert(!std::is_copy_assignable_v<metrics>);

namespace {

struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

bool is_name(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':')
      return false;
  return true;
}

// The samples of a text exposition (format 0.0.4), read as strictly as Prometheus reads them:
// a label value is quoted, and a backslash in it is followed by \, " or n, nothing else. Any
// line that does not read so fails the test (`at` throws past the end of a line).
std::vector<sample> samples_of(const std::string& text) {
  std::vector<sample> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    CAPTURE(line);
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE "))
      continue;
    sample s;
    std::size_t i = line.find_first_of("{ ");
    REQUIRE(i != std::string::npos);
    s.name = line.substr(0, i);
    REQUIRE(is_name(s.name));
    if (line.at(i) == '{') {
      ++i;
      while (line.at(i) != '}') {
        auto eq = line.find('=', i);
        REQUIRE(eq != std::string::npos);
        auto key = line.substr(i, eq - i);
        REQUIRE(is_name(key));
        i = eq + 1;
        REQUIRE(line.at(i) == '"');
        std::string value;
        for (++i; line.at(i) != '"'; ++i) {
          if (line.at(i) != '\\') {
            value += line[i];
            continue;
          }
          auto escaped = line.at(++i);
          REQUIRE_MESSAGE((escaped == '\\' || escaped == '"' || escaped == 'n'),
                          "a backslash before '" << escaped << "'");
          value += escaped == 'n' ? '\n' : escaped;
        }
        ++i; // the closing quote
        REQUIRE_MESSAGE(s.labels.emplace(key, value).second, "label " << key << " twice");
        if (line.at(i) == ',')
          ++i;
        else
          REQUIRE(line.at(i) == '}');
      }
      ++i;
    }
    REQUIRE(line.at(i) == ' ');
    auto number = line.substr(i + 1);
    std::size_t used = 0;
    s.value = std::stod(number, &used);
    REQUIRE_MESSAGE(used == number.size(), "trailing text after the value");
    out.push_back(std::move(s));
  }
  return out;
}

// The samples named `name` whose labels include all of `want`.
std::vector<sample> find(const std::vector<sample>& all, const std::string& name,
                         const std::map<std::string, std::string>& want) {
  std::vector<sample> out;
  for (const auto& s : all) {
    bool match = s.name == name;
    for (const auto& [k, v] : want)
      match = match && s.labels.contains(k) && s.labels.at(k) == v;
    if (match)
      out.push_back(s);
  }
  return out;
}

double value_of(const std::vector<sample>& all, const std::string& name,
                const std::map<std::string, std::string>& want) {
  auto found = find(all, name, want);
  REQUIRE_MESSAGE(found.size() == 1, name << ": " << found.size() << " samples match");
  return found.front().value;
}

} // namespace

TEST_CASE("hostile task types render as a correctly escaped exposition") {
  const std::vector<std::string> hostile{
    R"(we"ird\type)",
    "new\nline",
    R"(")",
    R"(\)",
    R"(\n)", // a backslash and an n, not a newline
    R"(}{=,)",
    "caf\xC3\xA9-\xE2\x9C\x93",
    R"(x"} 1)"
    "\n"
    R"(smith_tasks_total{role="forged)",
  };
  metrics m{"test"};
  for (const auto& type : hostile) {
    m.task_finished(type, "succeeded", 7ms);
    m.task_finished(type, "failed", 2s);
  }
  auto text = m.render(0);
  CHECK(smith::transport::wire::is_utf8(text));
  // The library's escapes, exactly.
  CHECK(text.find(R"(type="we\"ird\\type"} 1)") != std::string::npos);
  CHECK(text.find(R"(type="new\nline"} 1)") != std::string::npos);
  CHECK(text.find(R"(type="\\n"} 1)") != std::string::npos);
  CHECK(text.find(R"(type="\""} 1)") != std::string::npos);

  auto all = samples_of(text);
  // One counter per type and outcome, and one histogram per type: nothing forged, nothing lost.
  CHECK(find(all, "smith_tasks_total", {}).size() == 2 * hostile.size());
  CHECK(find(all, "smith_tasks_total", {{"role", "forged"}}).empty());
  for (const auto& type : hostile) {
    CAPTURE(type);
    for (const char* outcome : {"succeeded", "failed"})
      CHECK(
        value_of(all, "smith_tasks_total", {{"role", "test"}, {"type", type}, {"outcome", outcome}})
        == 1);
    CHECK(value_of(all, "smith_task_duration_seconds_count", {{"type", type}}) == 2);
    CHECK(value_of(all, "smith_task_duration_seconds_bucket", {{"type", type}, {"le", "0.01"}})
          == 1);
    CHECK(value_of(all, "smith_task_duration_seconds_bucket", {{"type", type}, {"le", "2.5"}})
          == 2);
  }
}

TEST_CASE("bytes that are not UTF-8 in a task type or role become U+FFFD, and the scrape stays "
          "UTF-8") {
  metrics m{"r\xFF"};
  m.task_finished("bad\xFF\xFE", "succeeded", 1ms);
  m.task_finished("cut\xC3", "succeeded", 1ms);
  m.task_finished("\xC0\xAF", "dead", 1ms); // an overlong '/'
  auto text = m.render(0);
  CHECK(smith::transport::wire::is_utf8(text));
  auto all = samples_of(text);
  const std::string bad = "\xEF\xBF\xBD";
  CHECK(value_of(all, "smith_tasks_total", {{"role", "r" + bad}, {"type", "bad" + bad + bad}})
        == 1);
  CHECK(value_of(all, "smith_tasks_total", {{"type", "cut" + bad}}) == 1);
  CHECK(value_of(all, "smith_tasks_total", {{"type", bad + bad}, {"outcome", "dead"}}) == 1);
  CHECK(value_of(all, "smith_tasks_in_flight", {{"role", "r" + bad}}) == 0);
}

TEST_CASE("the cap folds the 101st distinct type into other and keeps counting it") {
  metrics m{"test"};
  REQUIRE(metrics::default_max_types == 100);
  for (int i = 0; i < 100; ++i)
    m.task_finished("type-" + std::to_string(i), "succeeded", 1ms);
  m.task_finished("type-100", "succeeded", 1ms);
  m.task_finished("type-100", "failed", 1ms);
  m.task_finished("type-101", "succeeded", 1ms);
  m.task_finished("type-0", "succeeded", 1ms); // a type counted by name keeps its label
  m.task_finished("type-100", "succeeded", 1ms);

  auto all = samples_of(m.render(0));
  std::map<std::string, int> types;
  for (const auto& s : find(all, "smith_tasks_total", {}))
    ++types[s.labels.at("type")];
  CHECK(types.size() == 101); // 100 by name, and other
  CHECK_FALSE(types.contains("type-100"));
  CHECK_FALSE(types.contains("type-101"));
  CHECK(value_of(all, "smith_tasks_total", {{"type", "other"}, {"outcome", "succeeded"}}) == 3);
  CHECK(value_of(all, "smith_tasks_total", {{"type", "other"}, {"outcome", "failed"}}) == 1);
  CHECK(value_of(all, "smith_task_duration_seconds_count", {{"type", "other"}}) == 4);
  CHECK(value_of(all, "smith_tasks_total", {{"type", "type-0"}}) == 2);
  CHECK(value_of(all, "smith_tasks_total", {{"type", "type-99"}}) == 1);
  CHECK(m.count("succeeded") == 104);
  CHECK(m.count("failed") == 1);
}

TEST_CASE("a cap of N names the first N types and folds the rest, whatever they hold") {
  metrics m{"test", 2};
  m.task_finished("a", "succeeded", 1ms);
  m.task_finished(R"(b"\)", "succeeded", 1ms);
  m.task_finished(R"(c"\)", "succeeded", 1ms);
  m.task_finished("new\nline", "retried", 1ms);
  auto all = samples_of(m.render(0));
  CHECK(find(all, "smith_tasks_total", {}).size() == 4);
  CHECK(value_of(all, "smith_tasks_total", {{"type", "a"}}) == 1);
  CHECK(value_of(all, "smith_tasks_total", {{"type", R"(b"\)"}}) == 1);
  CHECK(value_of(all, "smith_tasks_total", {{"type", "other"}, {"outcome", "succeeded"}}) == 1);
  CHECK(value_of(all, "smith_tasks_total", {{"type", "other"}, {"outcome", "retried"}}) == 1);
}

TEST_CASE("the histogram keeps the bucket bounds dashboards query") {
  metrics m{"test"};
  m.task_finished("echo", "succeeded", 7ms);
  m.task_finished("echo", "succeeded", 90s);
  auto all = samples_of(m.render(0));
  auto buckets = find(all, "smith_task_duration_seconds_bucket", {{"type", "echo"}});
  std::vector<std::string> bounds;
  for (const auto& b : buckets)
    bounds.push_back(b.labels.at("le"));
  CHECK(bounds
        == std::vector<std::string>{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
                                    "2.5", "5", "10", "60", "+Inf"});
  CHECK(value_of(all, "smith_task_duration_seconds_bucket", {{"le", "0.005"}}) == 0);
  CHECK(value_of(all, "smith_task_duration_seconds_bucket", {{"le", "0.01"}}) == 1);
  CHECK(value_of(all, "smith_task_duration_seconds_bucket", {{"le", "60"}}) == 1);
  CHECK(value_of(all, "smith_task_duration_seconds_bucket", {{"le", "+Inf"}}) == 2);
  CHECK(value_of(all, "smith_task_duration_seconds_sum", {{"type", "echo"}})
        == doctest::Approx(90.007));
}

TEST_CASE("in flight, restarts and reconnects are there from the start, with the role") {
  metrics m{"te\"st"};
  auto all = samples_of(m.render(0));
  CHECK(value_of(all, "smith_tasks_in_flight", {{"role", "te\"st"}}) == 0);
  CHECK(value_of(all, "smith_actor_restarts_total", {{"role", "te\"st"}}) == 0);
  CHECK(value_of(all, "smith_nats_reconnects_total", {{"role", "te\"st"}}) == 0);
  CHECK(find(all, "smith_tasks_total", {}).empty());

  m.set_in_flight(3);
  m.restarted();
  m.restarted();
  CHECK(m.in_flight() == 3);
  all = samples_of(m.render(5));
  CHECK(value_of(all, "smith_tasks_in_flight", {}) == 3);
  CHECK(value_of(all, "smith_actor_restarts_total", {}) == 2);
  CHECK(value_of(all, "smith_nats_reconnects_total", {}) == 5);
  // The connection's total only grows; a counter never goes back whatever it is given.
  CHECK(value_of(samples_of(m.render(7)), "smith_nats_reconnects_total", {}) == 7);
  CHECK(value_of(samples_of(m.render(6)), "smith_nats_reconnects_total", {}) == 7);
}

TEST_CASE("every family is typed as before: counters, a gauge, a histogram") {
  metrics m{"test"};
  m.task_finished("echo", "succeeded", 1ms);
  auto text = m.render(0);
  for (const char* line :
       {"# TYPE smith_tasks_total counter", "# TYPE smith_tasks_in_flight gauge",
        "# TYPE smith_task_duration_seconds histogram", "# TYPE smith_actor_restarts_total counter",
        "# TYPE smith_nats_reconnects_total counter"}) {
    CAPTURE(line);
    CHECK(text.find(std::string{line} + "\n") != std::string::npos);
  }
}
