// The dashboard's throughput counts: results per role in 10 s buckets over 15 minutes.
#include "services/orchestrator/throughput.hpp"

#include <doctest/doctest.h>

#include <numeric>
#include <string>

using smith::services::orchestrator::throughput;

namespace {

constexpr std::int64_t t0 = 1'800'000'000'000; // a multiple of 10 s

std::uint32_t total(const std::vector<std::uint32_t>& counts) {
  return std::accumulate(counts.begin(), counts.end(), std::uint32_t{0});
}

} // namespace

TEST_CASE("results are counted per role in the bucket of their time, oldest bucket first") {
  throughput t;
  t.record("execute", t0);
  t.record("execute", t0 + 9'999);
  t.record("execute", t0 + 10'000);
  t.record("compile", t0 + 25'000);
  auto h = t.history(t0 + 25'000);
  REQUIRE(h.size() == 2);
  REQUIRE(h["execute"].size() == throughput::buckets);
  CHECK(h["execute"][throughput::buckets - 1] == 0); // t0 + 20 s
  CHECK(h["execute"][throughput::buckets - 2] == 1); // t0 + 10 s
  CHECK(h["execute"][throughput::buckets - 3] == 2); // t0
  CHECK(h["compile"][throughput::buckets - 1] == 1);
  CHECK(total(h["compile"]) == 1);
}

TEST_CASE("results older than 15 minutes fall out of the history") {
  throughput t;
  t.record("execute", t0);
  CHECK(total(t.history(t0 + 899'999)["execute"]) == 1);
  CHECK(total(t.history(t0 + 900'000)["execute"]) == 0);
  // A later result reuses the ring's slots: the old count does not come back.
  t.record("execute", t0 + 900'000);
  auto h = t.history(t0 + 900'000)["execute"];
  CHECK(total(h) == 1);
  CHECK(h.back() == 1);
  // A result from before the window is not counted.
  t.record("execute", t0 - 10'000);
  CHECK(total(t.history(t0 + 900'000)["execute"]) == 1);
}

TEST_CASE("a quiet hour between results leaves no stale counts") {
  throughput t;
  for (int i = 0; i < 90; ++i)
    t.record("execute", t0 + i * 10'000);
  t.record("execute", t0 + 3'600'000);
  auto h = t.history(t0 + 3'600'000)["execute"];
  CHECK(total(h) == 1);
}

TEST_CASE("roles past max_roles are not counted") {
  throughput t;
  for (std::size_t i = 0; i < throughput::max_roles + 5; ++i)
    t.record("role" + std::to_string(i), t0);
  CHECK(t.history(t0).size() == throughput::max_roles);
  t.record("role0", t0); // a known role still counts
  CHECK(total(t.history(t0)["role0"]) == 2);
}
