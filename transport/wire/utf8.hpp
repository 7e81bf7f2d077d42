// Strict UTF-8 (RFC 3629): the one check every layer uses before bytes travel as JSON text.
// Overlong forms, surrogates (U+D800..U+DFFF) and code points past U+10FFFF are invalid, as
// they are for every strict JSON parser.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace smith::transport::wire {

/// The length of the valid UTF-8 sequence at the start of `bytes` (1 to 4), or 0 when the
/// first byte does not begin one (also for an empty view).
std::size_t utf8_sequence_length(std::string_view bytes) noexcept;

/// Whether all of `bytes` is valid UTF-8 (then it can travel as a JSON string as it is).
bool is_utf8(std::string_view bytes) noexcept;

/// `bytes` with every byte that does not belong to a valid sequence replaced by U+FFFD.
std::string to_utf8_lossy(std::string_view bytes);

} // namespace smith::transport::wire
