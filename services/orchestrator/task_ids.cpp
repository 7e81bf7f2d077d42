#include "services/orchestrator/task_ids.hpp"

#include "transport/clock.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <random>
#include <stdexcept>

namespace smith::services::orchestrator {

namespace tp = smith::transport;

std::string random_hex(std::size_t bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = rng() & 0xff;
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

std::string new_task_id() {
  char ms[17];
  std::snprintf(ms, sizeof(ms), "%012llx", static_cast<unsigned long long>(tp::unix_ms()));
  return std::string{"t-"} + ms + random_hex(8);
}

std::string sha256_hex(std::string_view data, std::size_t bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes && i < size; ++i) {
    out += digits[digest[i] >> 4];
    out += digits[digest[i] & 0xf];
  }
  return out;
}

std::string id_for_idempotency_key(std::string_view key) {
  return "k-" + sha256_hex(key, 16);
}

} // namespace smith::services::orchestrator
