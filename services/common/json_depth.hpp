// How deep a JSON value nests. nlohmann parses without recursion but writes (dump) and
// compares recursively: a request of a few hundred kilobytes of '[' would overflow a thread's
// stack there, so services refuse such values right after parsing them.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>

namespace smith::services::common {

/// Whether `value` has arrays or objects nested more than `limit` deep (a scalar is depth 0,
/// `[]` depth 1). Walks without recursion: the check must not overflow the stack it protects.
bool nests_deeper_than(const nlohmann::json& value, std::size_t limit);

} // namespace smith::services::common
