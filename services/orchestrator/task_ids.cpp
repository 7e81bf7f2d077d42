#include "services/orchestrator/task_ids.hpp"

#include "transport/clock.hpp"
#include "transport/wire/hex.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <vector>

namespace smith::services::orchestrator {

namespace tp = smith::transport;

std::string random_hex(std::size_t bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::vector<unsigned char> random(bytes);
  for (auto& b : random)
    b = static_cast<unsigned char>(rng() & 0xff);
  return tp::wire::hex_encode(random.data(), random.size());
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
  return tp::wire::hex_encode(digest, std::min<std::size_t>(bytes, size));
}

std::string id_for_idempotency_key(std::string_view key) {
  return "k-" + sha256_hex(key, 16);
}

} // namespace smith::services::orchestrator
