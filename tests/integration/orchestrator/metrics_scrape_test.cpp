// A real orchestrator's /metrics, read by prometheus_client's own parser: the queue gauges of a
// role whose name holds braces, '=' and non-ASCII parse, with that role's true counts.
#include "../worker/metrics_parser.hpp"
#include "orchestrator_harness.hpp"

using namespace orchestrator_testing;

namespace {

// Roles are subject tokens, and name consumers ("role-<role>"): the server refuses a '\' in a
// consumer name, and nats.c writes the name into its JSON request unescaped, so a role with
// a '"' or a '\' cannot be created at all.
const std::string hostile_role = "r{o}=l'\xC3\xA9\xE2\x9C\x93";

tp::topology_config topology() {
  auto cfg = fixture::worker_topology();
  cfg.roles = {"test", hostile_role};
  return cfg;
}

} // namespace

TEST_CASE("the orchestrator's scrape parses with Prometheus's parser, with a hostile role's "
          "queue counts") {
  single_server s{topology()};
  temp_dir dir{"smith-orchestrator-metrics-test-"};
  orchestrator_process o{s.server.url(), dir, {{"SMITH_ROLES", "test," + hostile_role}}};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  for (int i = 0; i < 2; ++i)
    s.publish(task_of("q-" + std::to_string(i), "echo", "x"), hostile_role);

  auto metrics_text = [&] {
    httplib::Client cli{"127.0.0.1", o.http_port};
    auto res = cli.Get("/metrics");
    return res ? res->body : std::string{};
  };
  // The reporter runs every second (SMITH_METRICS_INTERVAL=1 in the harness). Waiting reads the
  // plain text; the parser reads the scrape that ended the wait.
  std::string text;
  REQUIRE_MESSAGE(wait_until(
                    [&] {
                      text = metrics_text();
                      return text.find("smith_queue_pending{role=\"" + hostile_role + "\"} 2\n")
                             != std::string::npos;
                    },
                    30s, 250ms),
                  text << "\n"
                       << o.log_text());
  auto scrape = parse_scrape(text);
  for (const char* gauge : {"smith_queue_pending", "smith_queue_in_flight", "smith_queue_workers",
                            "smith_queue_oldest_pending_seconds"}) {
    CAPTURE(gauge);
    CHECK(scrape.family_type(gauge) == "gauge");
    CHECK(scrape.samples(gauge).size() == 2); // test and the hostile role, nothing forged
  }
  CHECK(scrape.value("smith_queue_pending", {{"role", hostile_role}}) == 2);
  CHECK(scrape.value("smith_queue_pending", {{"role", "test"}}) == 0);
  CHECK(scrape.value("smith_queue_in_flight", {{"role", hostile_role}}) == 0);
  CHECK(scrape.value("smith_queue_workers", {{"role", hostile_role}}) == 0);
  CHECK(scrape.value("smith_queue_oldest_pending_seconds", {{"role", hostile_role}}) >= 0);
  CHECK(scrape.family_type("smith_dead_letters_moved") == "counter");
  CHECK(scrape.value("smith_dead_letters_moved_total", {}) == 0);
  CHECK(scrape.family_type("smith_nats_reconnects") == "counter");
  CHECK(scrape.value("smith_nats_reconnects_total", {}) == 0);
}
