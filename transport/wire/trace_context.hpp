// The W3C trace context header (`traceparent`, https://www.w3.org/TR/trace-context/): the
// trace id a task's log lines carry as `trace_id`, so one request can be followed across
// services.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace smith::transport::wire {

/// A well-formed `traceparent`: views into the header it was parsed from.
struct trace_context {
  std::string_view version;   ///< 2 lowercase hex digits, never "ff"
  std::string_view trace_id;  ///< 32 lowercase hex digits, not all zeros
  std::string_view parent_id; ///< 16 lowercase hex digits, not all zeros
  std::uint8_t flags = 0;     ///< bit 0: sampled
};

/// Parses `<version>-<trace id>-<parent id>-<flags>` (`00-` + 32 + `-` + 16 + `-` + 2 lowercase
/// hex digits). Nothing when the header is not well formed, names version ff, or has an
/// all-zero trace or parent id (the W3C rules: such a header is ignored, not repaired). A
/// version after 00 may append `-<more>`, which is skipped.
std::optional<trace_context> parse_traceparent(std::string_view header) noexcept;

/// The trace id of a `traceparent` header, nothing when parse_traceparent refuses it.
std::optional<std::string_view> trace_id_of(std::string_view traceparent) noexcept;

} // namespace smith::transport::wire
