#include "transport/wire/base64.hpp"

#include <openssl/evp.h>

#include <climits>

namespace smith::transport::wire {

namespace {

bool in_alphabet(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+'
         || c == '/';
}

// EVP_*Block take int lengths: larger inputs go in chunks of whole 3-byte (4-char) groups.
constexpr std::size_t chunk_bytes = std::size_t{3} << 20;

} // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  while (!bytes.empty()) {
    auto n = std::min(bytes.size(), chunk_bytes);
    auto written = EVP_EncodeBlock(dst, reinterpret_cast<const unsigned char*>(bytes.data()),
                                   static_cast<int>(n));
    dst += written;
    bytes.remove_prefix(n);
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=')
    pad = text[text.size() - 2] == '=' ? 2 : 1;
  for (std::size_t i = 0; i < text.size() - pad; ++i)
    if (!in_alphabet(text[i]))
      return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  std::string_view rest = text;
  while (!rest.empty()) {
    auto n = std::min(rest.size(), chunk_bytes / 3 * 4);
    auto written = EVP_DecodeBlock(dst, reinterpret_cast<const unsigned char*>(rest.data()),
                                   static_cast<int>(n));
    if (written < 0)
      return std::nullopt;
    dst += written;
    rest.remove_prefix(n);
  }
  // EVP_DecodeBlock writes padding as zero bytes: drop them.
  out.resize(out.size() - pad);
  return out;
}

} // namespace smith::transport::wire
