// What the /v1 body targets share: a fixed clock, and what a refusal must be.
#pragma once

#include "services/orchestrator/api_error.hpp"
#include "tests/fuzz/check.hpp"

#include <cstdint>

namespace fuzz {

inline constexpr std::int64_t now_ms = 1'795'939'565'000; // fixed, so that a run is repeatable

/// A refused body is the client's to change (400, 409, 413), with a code and a detail.
inline void check_refusal(const smith::services::orchestrator::api_error& e) {
  FUZZ_CHECK(e.status() == 400 || e.status() == 409 || e.status() == 413);
  FUZZ_CHECK(!e.code().empty() && e.what()[0] != '\0');
}

} // namespace fuzz
