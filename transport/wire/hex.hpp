// Lowercase hex of bytes: digests in results and ids, random suffixes.
#pragma once

#include <cstddef>
#include <string>

namespace smith::transport::wire {

/// Two lowercase hex digits per byte.
std::string hex_encode(const unsigned char* bytes, std::size_t size);

} // namespace smith::transport::wire
