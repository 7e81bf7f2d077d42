// Settings at the edges of the integers: found by tests/fuzz/config_env_fuzz.cpp, each once
// signed overflow (undefined behaviour) or a start-up that took seconds.
#include "transport/config.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <climits>
#include <map>

namespace tp = smith::transport;
using namespace std::chrono_literals;

namespace {

tp::env_lookup env_with(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    if (auto it = vars.find(std::string{name}); it != vars.end())
      return it->second;
    return std::nullopt;
  };
}

} // namespace

TEST_CASE("a duration whose parts add up past the largest integer is too large, not wrapped") {
  // 999 ms, then as many seconds as fit alone: together one past LLONG_MAX milliseconds.
  auto d = tp::parse_duration("999ms9223372036854775s");
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().message().find("is too large") != std::string::npos);
}

TEST_CASE("a duration is at most what the server's int64 nanoseconds hold, about 292 years") {
  CHECK(*tp::parse_duration("106751d") == 106751 * 24h);
  CHECK(*tp::parse_duration("9223372036854ms") == 9223372036854ms);
  CHECK_FALSE(tp::parse_duration("9223372036855ms").has_value());
  CHECK_FALSE(tp::parse_duration("106752d").has_value());
  auto cfg = tp::parse_topology_config(env_with({{"SMITH_DLQ_MAX_AGE", "200000d"}}));
  REQUIRE_FALSE(cfg.has_value());
  CHECK(cfg.error().message().find("SMITH_DLQ_MAX_AGE=\"200000d\"") == 0);
}

TEST_CASE("a redelivery horizon past the largest duration saturates instead of overflowing") {
  tp::topology_config cfg;
  cfg.ack_wait = 106751 * 24h;
  cfg.max_deliver = INT_MAX;
  CHECK(tp::redelivery_horizon(cfg) == std::chrono::milliseconds::max());
  cfg.backoff = {1s, 106751 * 24h};
  CHECK(tp::redelivery_horizon(cfg) == std::chrono::milliseconds::max());
  // Refused as shorter-lived results, the way any horizon past SMITH_RESULTS_MAX_AGE is.
  auto parsed = tp::parse_topology_config(
    env_with({{"SMITH_ACK_WAIT", "106751d"}, {"SMITH_MAX_DELIVER", "2147483647"}}));
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().message().find("SMITH_RESULTS_MAX_AGE=1d is shorter than the redelivery "
                                      "horizon")
        == 0);
}

TEST_CASE("the horizon of two billion deliveries with BackOff steps is computed, not counted") {
  tp::topology_config cfg;
  cfg.max_deliver = INT_MAX;
  cfg.backoff = {1s, 2s};
  // 1s + 2s × (INT_MAX - 1): once a loop of two billion steps, seconds at start-up.
  CHECK(tp::redelivery_horizon(cfg) == 1s + 2s * (static_cast<long long>(INT_MAX) - 1));
  cfg.max_deliver = 1; // fewer deliveries than steps: only the first ones count
  CHECK(tp::redelivery_horizon(cfg) == 1s);
}
