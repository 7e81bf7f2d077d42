// Standard base64 (RFC 4648, with padding) for binary payloads and outputs in JSON, through
// OpenSSL's EVP block functions; the strict checks OpenSSL leaves out (padding only at the
// end, no whitespace, length a multiple of 4) are made here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smith::transport::wire {

std::string base64_encode(std::string_view bytes);

/// Nothing when `text` is not valid, padded, whitespace-free base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace smith::transport::wire
