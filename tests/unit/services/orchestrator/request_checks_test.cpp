// The orchestrator's checks of what others send it, without NATS: the cases
// tests/fuzz (submit_body, schedule_body, ping_reply) found, each once a crash, an exception
// out of a parser or signed overflow. The API's messages are pinned by the integration tests.
#include "services/orchestrator/api_error.hpp"
#include "services/orchestrator/ping_reply.hpp"
#include "services/orchestrator/schedule_request.hpp"
#include "services/orchestrator/submit_request.hpp"

#include <doctest/doctest.h>

#include <string>

namespace orch = smith::services::orchestrator;
namespace tp = smith::transport;
using json = nlohmann::json;

namespace {

constexpr std::int64_t now_ms = 1'795'939'565'000;

// The api_error `fn` throws; fails the test when it throws none.
template <class Fn>
orch::api_error error_of(Fn fn) {
  try {
    fn();
  } catch (const orch::api_error& e) {
    return e;
  }
  FAIL("no api_error");
  return orch::api_error{0, "", ""};
}

json nested(std::size_t depth) {
  return json::parse(std::string(depth, '[') + std::string(depth, ']'));
}

} // namespace

TEST_CASE("a ping reply counts for its role; one whose role is not a string counts for none") {
  CHECK(orch::ping_reply_role(R"({"worker":"vm:1","role":"execute","concurrency":4})")
        == "execute");
  CHECK_FALSE(orch::ping_reply_role(R"({"role":["execute"]})")); // once a json type_error
  CHECK_FALSE(orch::ping_reply_role(R"({"role":7})"));
  CHECK_FALSE(orch::ping_reply_role(R"({"worker":"vm:1"})"));
  CHECK_FALSE(orch::ping_reply_role("not json"));
  CHECK_FALSE(orch::ping_reply_role(R"(["role","execute"])"));
}

TEST_CASE("a payload nested past 256 levels is refused, not written by a recursion that "
          "overflows the stack") {
  const tp::topology_config topo;
  json body{{"role", "execute"}, {"type", "echo"}, {"id", "deep-1"}};
  body["payload"] = nested(orch::max_payload_depth);
  auto ok = orch::parse_submit_request(body, "", topo, now_ms);
  CHECK(ok.task.payload.size() == 2 * orch::max_payload_depth);
  // 200,000 levels: a body of 400 kB, under the API's 2 MiB, that once crashed the orchestrator.
  for (std::size_t depth : {orch::max_payload_depth + 1, std::size_t{200'000}}) {
    body["payload"] = nested(depth);
    auto e = error_of([&] { orch::parse_submit_request(body, "", topo, now_ms); });
    CHECK(e.status() == 400);
    CHECK(e.code() == "invalid_field");
    CHECK(std::string{e.what()}.find("field `payload` nests arrays and objects more than 256")
          == 0);
  }
  // Schedules carry their tasks' payload the same way.
  json schedule{{"name", "deep"}, {"role", "execute"}, {"type", "echo"}, {"every", "1m"}};
  schedule["payload"] = json::array({json::object({{"a", nested(300)}})});
  CHECK(error_of([&] { orch::parse_schedule_request(schedule, topo, now_ms); }).status() == 400);
}

TEST_CASE("an every of thousands of long terms is refused as too long, not summed past int64") {
  const tp::topology_config topo;
  json body{{"name", "n"}, {"role", "execute"}, {"type", "echo"}};
  std::string every;
  for (int i = 0; i < 3000; ++i) // 3000 × 999,999,999 h: past 2^63 ms after 2,563 terms
    every += "999999999h";
  body["every"] = every;
  auto e = error_of([&] { orch::parse_schedule_request(body, topo, now_ms); });
  CHECK(e.status() == 400);
  CHECK(std::string{e.what()}.ends_with("\" is too long"));
  body["every"] = "999999999h1s";
  CHECK(orch::parse_schedule_request(body, topo, now_ms).when == "@every 999999999h1s");
}
