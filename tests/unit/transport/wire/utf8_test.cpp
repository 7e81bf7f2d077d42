// Strict UTF-8: the RFC 3629 table, the forms the old check let through, and agreement with
// the JSON library on random bytes (what is_utf8 accepts, nlohmann::json dumps; what it
// refuses, nlohmann::json refuses too).
#include "transport/wire/utf8.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>

using namespace smith::transport::wire;
using namespace std::string_literals;

TEST_CASE("valid sequences of every length are UTF-8") {
  CHECK(is_utf8(""));
  CHECK(is_utf8("plain ascii"));
  CHECK(is_utf8("\xC2\x80"));         // U+0080, the smallest 2-byte form
  CHECK(is_utf8("\xDF\xBF"));         // U+07FF
  CHECK(is_utf8("\xE0\xA0\x80"));     // U+0800, the smallest 3-byte form
  CHECK(is_utf8("\xED\x9F\xBF"));     // U+D7FF, just below the surrogates
  CHECK(is_utf8("\xEE\x80\x80"));     // U+E000, just above them
  CHECK(is_utf8("\xEF\xBF\xBF"));     // U+FFFF
  CHECK(is_utf8("\xF0\x90\x80\x80")); // U+10000, the smallest 4-byte form
  CHECK(is_utf8("\xF4\x8F\xBF\xBF")); // U+10FFFF, the largest code point
  CHECK(is_utf8("a\0b"s));            // NUL is a character
}

TEST_CASE("overlong forms, surrogates and code points past U+10FFFF are not UTF-8") {
  CHECK_FALSE(is_utf8("\xC0\x80"));         // overlong NUL (the status that answered 500)
  CHECK_FALSE(is_utf8("\xC1\xBF"));         // overlong U+007F
  CHECK_FALSE(is_utf8("\xE0\x9F\xBF"));     // overlong U+07FF
  CHECK_FALSE(is_utf8("\xF0\x8F\xBF\xBF")); // overlong U+FFFF
  CHECK_FALSE(is_utf8("\xED\xA0\x80"));     // U+D800, a surrogate
  CHECK_FALSE(is_utf8("\xED\xBF\xBF"));     // U+DFFF
  CHECK_FALSE(is_utf8("\xF4\x90\x80\x80")); // U+110000
  CHECK_FALSE(is_utf8("\xF5\x80\x80\x80"));
  CHECK_FALSE(is_utf8("\xFF"));
  CHECK_FALSE(is_utf8("\xFE"));
}

TEST_CASE("truncated sequences and stray continuation bytes are not UTF-8") {
  CHECK_FALSE(is_utf8("\x80"));
  CHECK_FALSE(is_utf8("a\xBF"));
  CHECK_FALSE(is_utf8("\xC2"));
  CHECK_FALSE(is_utf8("\xE2\x82"));
  CHECK_FALSE(is_utf8("\xF0\x9F\x98"));
  CHECK_FALSE(is_utf8("\xE2\x28\xA1"));
  CHECK(utf8_sequence_length("") == 0);
  CHECK(utf8_sequence_length("\xE2\x82\xAC rest") == 3);
}

TEST_CASE("the lossy form replaces each invalid byte with U+FFFD and keeps the rest") {
  CHECK(to_utf8_lossy("ok") == "ok");
  CHECK(to_utf8_lossy("a\xFF"
                      "b")
        == "a\xEF\xBF\xBD"
           "b");
  CHECK(to_utf8_lossy("\xC0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(to_utf8_lossy("\xE2\x82\xAC") == "\xE2\x82\xAC");
  CHECK(is_utf8(to_utf8_lossy("\xED\xA0\x80\xF4\x90")));
}

TEST_CASE("is_utf8 agrees with the JSON library on random bytes") {
  std::mt19937 rng{20261129};
  // Bytes drawn mostly from the interesting lead and continuation ranges.
  std::uniform_int_distribution<int> len{0, 8};
  std::uniform_int_distribution<int> byte{0x70, 0xFF};
  int valid = 0;
  for (int i = 0; i < 200'000; ++i) {
    std::string s(static_cast<std::size_t>(len(rng)), '\0');
    for (auto& c : s)
      c = static_cast<char>(byte(rng));
    bool ours = is_utf8(s);
    bool theirs = true;
    try {
      (void)nlohmann::json(s).dump();
    } catch (const nlohmann::json::type_error&) {
      theirs = false;
    }
    if (ours != theirs)
      FAIL_CHECK("disagreement on a string of ", s.size(), " bytes");
    valid += ours ? 1 : 0;
    if (!ours)
      CHECK(is_utf8(to_utf8_lossy(s)));
  }
  CHECK(valid > 1000); // the draw does reach valid multi-byte forms
}
