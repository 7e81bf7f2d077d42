// SHA-256 through OpenSSL's EVP API, fed in chunks so that a cancel is noticed on large input.
#include "actors/handlers/hash_handler.hpp"

#include "transport/wire/hex.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace smith::actors::handlers {

namespace {

constexpr std::size_t chunk_bytes = std::size_t{1024} * 1024;

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* ptr) const noexcept {
    EVP_MD_CTX_free(ptr);
  }
};

using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

/// OpenSSL fails here only when it cannot allocate or load its provider: a problem of this
/// worker, not of the task, so another attempt (maybe elsewhere) is worth it.
outcome openssl_failed(std::string_view step) {
  std::array<char, 256> text{};
  ERR_error_string_n(ERR_get_error(), text.data(), text.size());
  ERR_clear_error();
  return outcome::retry_later(
    "OpenSSL " + std::string{step} + " failed while hashing: " + text.data(), "internal");
}

} // namespace

outcome hash_handler(task_context& ctx) {
  md_ctx_ptr md{EVP_MD_CTX_new()};
  if (!md)
    return openssl_failed("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1)
    return openssl_failed("EVP_DigestInit_ex");
  auto rest = ctx.payload();
  while (!rest.empty()) {
    if (ctx.cancelled())
      return outcome::failure("cancelled", "cancelled");
    auto chunk = rest.substr(0, std::min(rest.size(), chunk_bytes));
    if (EVP_DigestUpdate(md.get(), chunk.data(), chunk.size()) != 1)
      return openssl_failed("EVP_DigestUpdate");
    rest.remove_prefix(chunk.size());
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(md.get(), digest.data(), &size) != 1)
    return openssl_failed("EVP_DigestFinal_ex");
  return outcome::success(transport::wire::hex_encode(digest.data(), size));
}

} // namespace smith::actors::handlers
