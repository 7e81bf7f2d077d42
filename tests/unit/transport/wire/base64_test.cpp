// base64 through OpenSSL: the RFC 4648 test vectors, round trips of every byte, and the
// strictness OpenSSL's block decoder lacks (padding in the middle, whitespace, bad lengths).
#include "transport/wire/base64.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>

using namespace smith::transport::wire;
using namespace std::string_literals;

TEST_CASE("the RFC 4648 test vectors encode and decode") {
  const std::pair<const char*, const char*> vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, coded] : vectors) {
    CHECK(base64_encode(plain) == coded);
    CHECK(base64_decode(coded) == std::string{plain});
  }
}

TEST_CASE("any bytes survive a round trip, NUL and 0xFF included") {
  std::mt19937 rng{7};
  std::uniform_int_distribution<int> byte{0, 255};
  for (std::size_t n = 0; n < 300; ++n) {
    std::string s(n, '\0');
    for (auto& c : s)
      c = static_cast<char>(byte(rng));
    CHECK(base64_decode(base64_encode(s)) == s);
  }
  CHECK(base64_decode(base64_encode("\0\0\0"s)) == "\0\0\0"s);
}

TEST_CASE("a payload larger than one OpenSSL block call survives a round trip") {
  std::string big(7u << 20, 'x'); // 7 MiB: three chunks of the encoder's 3 MiB
  big[12345] = '\0';
  big.back() = '\xFF';
  auto coded = base64_encode(big);
  CHECK(coded.size() == (big.size() + 2) / 3 * 4);
  CHECK(base64_decode(coded) == big);
}

TEST_CASE("text that is not strict, padded base64 is refused") {
  CHECK_FALSE(base64_decode("%%%"));
  CHECK_FALSE(base64_decode("Zg="));      // length not a multiple of 4
  CHECK_FALSE(base64_decode("Zg"));       // padding left out
  CHECK_FALSE(base64_decode("Zg==Zg==")); // padding in the middle
  CHECK_FALSE(base64_decode("Z==="));
  CHECK_FALSE(base64_decode("===="));
  CHECK_FALSE(base64_decode(" Zm9v")); // whitespace OpenSSL would skip
  CHECK_FALSE(base64_decode("Zm9v\n"));
  CHECK_FALSE(base64_decode("Zm-v")); // the URL-safe alphabet is another encoding
}
