// The W3C traceparent header: the trace id is taken only from a well-formed header whose ids
// are not all zeros (https://www.w3.org/TR/trace-context/#traceparent-header).
#include "transport/wire/trace_context.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace smith::transport::wire;

namespace {

const std::string valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

} // namespace

TEST_CASE("a well-formed traceparent gives its trace id, parent id and flags") {
  auto t = parse_traceparent(valid);
  REQUIRE(t.has_value());
  CHECK(t->version == "00");
  CHECK(t->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(t->parent_id == "00f067aa0ba902b7");
  CHECK(t->flags == 1);
  CHECK(trace_id_of(valid) == std::optional<std::string_view>{"4bf92f3577b34da6a3ce929d0e0e4736"});
  CHECK(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->flags == 0);
}

TEST_CASE("a traceparent that is not exactly version 00 with lowercase hex ids gives nothing") {
  for (const std::string& bad : std::vector<std::string>{
         "",
         "00",
         valid.substr(0, 54),                                       // one character short
         valid + "0",                                               // one too many
         valid + "-extra",                                          // version 00 has no more
         "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // uppercase
         "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", // not hex
         "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // wrong separator
         "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
         "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01", // dash in the wrong place
         " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", // leading space
         "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff is invalid
         "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
       }) {
    CAPTURE(bad);
    CHECK_FALSE(parse_traceparent(bad).has_value());
    CHECK_FALSE(trace_id_of(bad).has_value());
  }
}

TEST_CASE("an all-zero trace id or parent id makes the header invalid") {
  CHECK_FALSE(trace_id_of("00-00000000000000000000000000000000-00f067aa0ba902b7-01").has_value());
  CHECK_FALSE(trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01").has_value());
}

TEST_CASE("a later version may carry more fields after a dash, which are skipped") {
  auto later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future";
  CHECK(trace_id_of(later) == std::optional<std::string_view>{"4bf92f3577b34da6a3ce929d0e0e4736"});
  CHECK(trace_id_of("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").has_value());
  CHECK_FALSE(trace_id_of("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x").has_value());
}
