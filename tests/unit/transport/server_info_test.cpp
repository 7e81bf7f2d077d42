#include "transport/server_info.hpp"

#include <doctest/doctest.h>

namespace tp = smith::transport;

TEST_CASE("server versions parse from what INFO says, and nothing else") {
  auto v = tp::parse_server_version("2.15.1");
  REQUIRE(v);
  CHECK(v->major == 2);
  CHECK(v->minor == 15);
  CHECK(v->patch == 1);
  CHECK(tp::parse_server_version("v2.14.0-RC.1") == tp::server_version{2, 14, 0});
  CHECK(tp::parse_server_version("2.10.22+build") == tp::server_version{2, 10, 22});
  for (const char* bad : {"", "2", "2.15", "2.15.", "x.1.2", "2.15.1x", "2..1", "-2.1.1", " 2.1.1"})
    CHECK_MESSAGE(!tp::parse_server_version(bad), bad);
}

TEST_CASE("a server older than needed is an error naming both versions") {
  CHECK(tp::server_version{2, 9, 10} < tp::server_version{2, 14, 0});
  CHECK(tp::server_version{2, 15, 0} > tp::server_version{2, 14, 9});
  CHECK(tp::require_server({2, 14, 0}, tp::minimum_server_version));
  CHECK(tp::require_server({3, 0, 0}, tp::minimum_server_version));
  auto old = tp::require_server({2, 9, 10}, tp::minimum_server_version);
  REQUIRE_FALSE(old);
  CHECK(old.error().code() == tp::errc::unsupported);
  CHECK_FALSE(old.error().retryable());
  CHECK(old.error().message().find("2.9.10") != std::string::npos);
  CHECK(old.error().message().find(tp::minimum_server_version.str()) != std::string::npos);
  auto feature = tp::require_server({2, 14, 0}, {2, 16, 0}, "atomic batches");
  REQUIRE_FALSE(feature);
  CHECK(feature.error().message().find("atomic batches needs nats-server 2.16.0")
        != std::string::npos);
}
