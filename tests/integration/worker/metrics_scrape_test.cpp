// A real worker's /metrics after tasks whose types hold quotes, backslashes, braces and
// non-ASCII, read by prometheus_client's own parser: the scrape parses, and each type is
// counted under its exact name (or under "other" past --metrics-max-types).
#include "metrics_parser.hpp"
#include "worker_harness.hpp"

#include <sstream>

using namespace smith::testing;

namespace {

struct fixture : server_fixture {
  fixture() : server_fixture("smith-metrics-scrape-test-") {
  }

  // `n` tasks of `type`; the worker has no handler for a hostile type, so each fails once
  // (unknown_type: no retry) and is counted as failed.
  void publish(const std::string& type, int n) {
    for (int i = 0; i < n; ++i)
      s.publish(task_of("t-" + std::to_string(published++), type, "x"));
  }

  int published = 0;
};

// Task types are subject tokens (no '.', '*', '>' or whitespace); everything else goes.
const std::vector<std::string> hostile{
  R"(we"ird\type)", R"(")", R"(\)", R"(\n)", R"({a="b",c=d})", R"(x"}1)", "caf\xC3\xA9\xE2\x9C\x93",
};

// The sum of a metric's samples, by a plain reading of the lines: enough to wait on.
double total(const std::string& scrape, const std::string& name) {
  double sum = 0;
  std::istringstream in{scrape};
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(name) && line.size() > name.size()
        && (line[name.size()] == '{' || line[name.size()] == ' '))
      sum += std::stod(line.substr(line.rfind(' ') + 1));
  return sum;
}

bool counted(const worker_process& w, int n) {
  return total(w.metrics(), "smith_tasks_total") >= n;
}

} // namespace

TEST_CASE("a scrape after hostile task types parses with Prometheus's parser and counts each "
          "type under its exact name") {
  fixture f;
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "4"}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  for (std::size_t i = 0; i < hostile.size(); ++i)
    f.publish(hostile[i], static_cast<int>(i % 2) + 1);
  f.publish("echo", 3);
  REQUIRE_MESSAGE(wait_until([&] { return counted(w, f.published); }, 60s), w.metrics()
                                                                              << "\n"
                                                                              << w.log_text());

  auto scrape = parse_scrape(w.metrics());
  CHECK(scrape.family_type("smith_tasks") == "counter");
  CHECK(scrape.family_type("smith_task_duration_seconds") == "histogram");
  CHECK(scrape.family_type("smith_tasks_in_flight") == "gauge");
  CHECK(scrape.family_type("smith_actor_restarts") == "counter");
  CHECK(scrape.family_type("smith_nats_reconnects") == "counter");
  // One series per type, no more: a quote in a type forges no label and no line.
  CHECK(scrape.samples("smith_tasks_total").size() == hostile.size() + 1);
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    CAPTURE(hostile[i]);
    auto n = static_cast<double>(i % 2 + 1);
    CHECK(scrape.value("smith_tasks_total",
                       {{"role", "test"}, {"type", hostile[i]}, {"outcome", "failed"}})
          == n);
    CHECK(scrape.value("smith_task_duration_seconds_count", {{"type", hostile[i]}}) == n);
    CHECK(scrape.value("smith_task_duration_seconds_bucket", {{"type", hostile[i]}, {"le", "+Inf"}})
          == n);
  }
  CHECK(scrape.value("smith_tasks_total", {{"type", "echo"}, {"outcome", "succeeded"}}) == 3);
  CHECK(scrape.value("smith_tasks_in_flight", {{"role", "test"}}) == 0);
  CHECK(scrape.value("smith_nats_reconnects_total", {{"role", "test"}}) == 0);
}

TEST_CASE("past --metrics-max-types a real worker counts new types as other, and the scrape "
          "still parses") {
  fixture f;
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "4", "--metrics-max-types", "3"}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  // The first three types take the three names, whatever order their tasks end in.
  f.publish(hostile[0], 2);
  f.publish(hostile[1], 1);
  f.publish(hostile[2], 1);
  REQUIRE_MESSAGE(wait_until([&] { return counted(w, 4); }, 60s), w.log_text());
  f.publish(hostile[3], 2);
  f.publish(hostile[4], 1);
  f.publish(hostile[0], 1);
  REQUIRE_MESSAGE(wait_until([&] { return counted(w, 8); }, 60s), w.log_text());

  auto scrape = parse_scrape(w.metrics());
  CHECK(scrape.samples("smith_tasks_total").size() == 4);
  CHECK(scrape.value("smith_tasks_total", {{"type", hostile[0]}}) == 3);
  CHECK(scrape.value("smith_tasks_total", {{"type", hostile[1]}}) == 1);
  CHECK(scrape.value("smith_tasks_total", {{"type", hostile[2]}}) == 1);
  CHECK(scrape.value("smith_tasks_total", {{"type", "other"}, {"outcome", "failed"}}) == 3);
  CHECK(scrape.value("smith_task_duration_seconds_count", {{"type", "other"}}) == 3);
  CHECK(scrape.samples("smith_tasks_total", {{"type", hostile[3]}}).empty());
  CHECK(scrape.samples("smith_tasks_total", {{"type", hostile[4]}}).empty());
}

TEST_CASE("a --metrics-max-types that is not a positive integer is refused with a clear error") {
  for (const std::string bad : {"0", "-1", "abc", "1.5", "10x", " 7", "99999999999999999999999"}) {
    CAPTURE(bad);
    for (bool by_flag : {true, false}) {
      std::vector<std::string> argv{smith_binary(), "worker", "--role", "test"};
      std::map<std::string, std::string> env{{"SMITH_NATS_URL", "nats://127.0.0.1:1"}};
      if (by_flag)
        argv.push_back("--metrics-max-types=" + bad);
      else
        env["SMITH_METRICS_MAX_TYPES"] = bad;
      auto r = run_command(argv, env, {}, 20s);
      CHECK(r.exit_code == 2);
      CHECK_MESSAGE(r.out.find("--metrics-max-types/SMITH_METRICS_MAX_TYPES must be a positive "
                               "integer")
                      != std::string::npos,
                    r.out << r.err);
      CHECK_MESSAGE(r.out.find(R"(got \")" + bad + R"(\")") != std::string::npos, r.out);
    }
  }
}
