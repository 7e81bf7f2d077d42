// The operators' CloudWatch Logs Insights queries (DESIGN.md §4) run over a real worker's log
// (log_queries.py applies them as Logs Insights would): tasks whose ids carry quotes,
// backslashes and attempts to forge duration_ms and error_type are logged with their exact ids,
// and the queries parse the true duration and error type, never the forged ones.
#include "worker_harness.hpp"

#include "support/command.hpp"
#include "transport/publisher.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

using namespace smith::testing;
using json = nlohmann::json;

namespace {

struct fixture : server_fixture {
  // One delivery per task: the failing task is dead on its first attempt. (With redeliveries,
  // nats-server 2.9 now and then reports a delivery count one too low, and the worker then
  // never sees the last attempt as the last: docs/ARCHITECTURE.md.)
  fixture() : server_fixture("smith-log-queries-test-", one_attempt()) {
  }

  static tp::topology_config one_attempt() {
    auto cfg = worker_topology();
    cfg.max_deliver = 1;
    return cfg;
  }
};

struct hostile_task {
  std::string id;
  std::string type;
  std::string payload;
  std::string traceparent;
  std::string final_outcome; // of the attempt that ends it
};

const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";

// The decoded task_duration lines of a log, by task id (lines that are not JSON are skipped
// here; the test checks them all below).
std::map<std::string, std::vector<json>> durations(const std::string& log) {
  std::map<std::string, std::vector<json>> out;
  std::istringstream in{log};
  for (std::string line; std::getline(in, line);) {
    auto doc = json::parse(line, nullptr, false);
    if (doc.is_object() && doc.value("msg", "") == "task_duration" && doc["task_id"].is_string())
      out[doc["task_id"].get<std::string>()].push_back(doc);
  }
  return out;
}

std::string env_or_fail(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE_MESSAGE(v != nullptr, name << " is not set: run through meson test");
  return v;
}

} // namespace

TEST_CASE("the operators' queries parse the true duration and error type from a real worker's "
          "lines, whatever the task ids hold") {
  fixture f;
  const std::vector<hostile_task> tasks{
    {R"(quote"inside)", "echo", "x", "", "succeeded"},
    {R"(back\slash\)", "sleep", "150", "00-" + trace + "-00f067aa0ba902b7-01", "succeeded"},
    {R"(x","duration_ms":99999,"error_type":"forged)", "echo", "x", "", "succeeded"},
    {R"(f","error_type":"forged","level":"INFO)", "fail", R"({"fail_times":9,"mode":"error"})", "",
     "dead"},
    {"caf\xC3\xA9-\\\"-}{", "echo", "x", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
     "succeeded"},
  };
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "4"}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  for (const auto& t : tasks) {
    tp::task_headers extra;
    extra.traceparent = t.traceparent;
    auto msg = must(tp::task_message(f.s.names, "test", task_of(t.id, t.type, t.payload), extra));
    must(f.s.pub->publish(msg, 5s));
  }
  // Each task's last attempt is logged once its outcome is stored and settled.
  REQUIRE_MESSAGE(wait_until(
                    [&] {
                      auto seen = durations(w.log_text());
                      for (const auto& t : tasks) {
                        auto it = seen.find(t.id);
                        if (it == seen.end() || it->second.back()["outcome"] != t.final_outcome)
                          return false;
                      }
                      return true;
                    },
                    60s),
                  w.log_text());
  CHECK(w.process.terminate(30s)); // its drain and stop lines are checked too

  auto report = run_command({env_or_fail("PYTHON3"), env_or_fail("LOG_QUERIES"), w.log.string()});
  REQUIRE_MESSAGE(report.exit_code == 0, report.err);
  auto doc = json::parse(report.out);
  const auto& lines = doc["lines"];
  REQUIRE(lines.size() > tasks.size());

  std::set<std::string> ids_seen;
  int duration_lines = 0;
  for (const auto& l : lines) {
    CAPTURE(l["message"].get<std::string>());
    // Every line is one JSON object, no key twice, in the shape the operators rely on.
    REQUIRE(l["json"].is_object());
    CHECK(l["unique_keys"] == true);
    const auto& j = l["json"];
    CHECK(j["ts"].is_string());
    CHECK(std::set<std::string>{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}.contains(
      j.value("level", "")));
    CHECK(std::set<std::string>{"transport", "actors", "worker"}.contains(j.value("logger", "")));
    CHECK(j["msg"].is_string());

    // Slow tasks: the duration parsed is the line's own integer duration_ms.
    if (l["slow"]["fields"].is_object()) {
      ++duration_lines;
      REQUIRE(j["duration_ms"].is_number_integer());
      REQUIRE(j["task_id"].is_string());
      CHECK(l["slow"]["fields"]["duration"]
            == std::to_string(j["duration_ms"].get<std::int64_t>()));
      CHECK(l["slow"]["fields"]["duration"] != "99999");
      ids_seen.insert(j["task_id"].get<std::string>());
    }
    // Errors: the error type parsed is the line's own error_type, never a forged one.
    if (l["errors"]["kept"] == true) {
      const auto& parsed = l["errors"]["fields"]["errorType"];
      if (j.contains("error_type"))
        CHECK(parsed == j["error_type"]);
      else
        CHECK(parsed.is_null());
      CHECK(parsed != "forged");
    }
  }
  CHECK(duration_lines >= static_cast<int>(tasks.size()));
  // Each hostile id comes back exactly as it was given once the line is decoded.
  for (const auto& t : tasks) {
    CAPTURE(t.id);
    CHECK(ids_seen.contains(t.id));
  }

  // The queries' own results: no task ran 10 s (a forged 99999 would show here), and the one
  // error type counted is the fail handler's.
  CHECK(doc["results"]["slow"].empty());
  std::map<std::string, int> by_type;
  for (const auto& row : doc["results"]["errors"])
    if (row["errorType"].is_string())
      by_type[row["errorType"].get<std::string>()] = row["count()"].get<int>();
  CHECK(by_type["deliberate"] >= 1);
  CHECK_FALSE(by_type.contains("forged"));

  // The per-task lines: a slept duration, ERROR with the true error_type for the dead task,
  // trace_id only from a valid traceparent.
  auto seen = durations(w.log_text());
  for (const auto& t : tasks) {
    CAPTURE(t.id);
    const auto& last = seen[t.id].back();
    CHECK(last["task_id"] == t.id);
    if (t.type == "sleep")
      CHECK(last["duration_ms"].get<std::int64_t>() >= 150);
    if (t.type == "fail") {
      CHECK(last["level"] == "ERROR");
      CHECK(last["error_type"] == "deliberate");
      CHECK(seen[t.id].size() == 1); // max_deliver 1: dead on its only attempt
    }
    if (t.traceparent.starts_with("00-" + trace))
      CHECK(last["trace_id"] == trace);
    else
      CHECK_FALSE(last.contains("trace_id"));
  }
}
