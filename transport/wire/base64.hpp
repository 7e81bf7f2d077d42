// Standard base64 (RFC 4648, with padding) for binary payloads and outputs in JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smith::transport::wire {

std::string base64_encode(std::string_view bytes);

/// Nothing when `text` is not valid base64.
std::optional<std::string> base64_decode(std::string_view text);

/// Whether `bytes` is valid UTF-8 (then it can travel as a JSON string as it is).
bool is_utf8(std::string_view bytes);

} // namespace smith::transport::wire
