// The envelope codec: one test per way a body can be malformed, and random input that must
// never crash the decoder.
#include "transport/wire/envelope.hpp"

#include <doctest/doctest.h>
#include <msgpack.hpp>

#include "msgpack_bodies.hpp"
#include <concepts>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

using namespace smith::transport;
using namespace smith::transport::wire;
using namespace std::string_literals;

using namespace envelope_testing;

TEST_CASE("a body over max_body_bytes is too large, with the sizes and a hint") {
  task in{.id = "t-1",
          .type = "echo",
          .payload = std::string(2000, 'x'),
          .created_ms = 1,
          .deadline_ms = {},
          .meta = {}};
  auto body = encode(in);
  check_error(decode_task(body, {.max_body_bytes = 1000}), errc::too_large,
              {std::to_string(body.size()), "1000", "SMITH_MAX_MSG_BYTES", "max_msg_size"},
              __LINE__);
  check_error(decode_result("", {.max_body_bytes = 0}), errc::malformed, {"empty"}, __LINE__);
}

TEST_CASE("an empty body is malformed") {
  CHECK_MALFORMED(decode_task(""), "task", "empty");
  CHECK_MALFORMED(decode_result(""), "result", "empty");
  CHECK_MALFORMED(decode_dead_letter(""), "dead letter", "empty");
}

TEST_CASE("a body that is not msgpack is malformed") {
  CHECK_MALFORMED(decode_task("\xc1"), "not msgpack");
  CHECK_MALFORMED(decode_task("\x81\xa1v\xc1"), "not msgpack");
}

TEST_CASE("a truncated body is malformed") {
  auto body = encode(task{
    .id = "t-1", .type = "echo", .payload = "abc", .created_ms = 1, .deadline_ms = {}, .meta = {}});
  CHECK_MALFORMED(decode_task(body.substr(0, body.size() - 1)), "truncated");
}

TEST_CASE("trailing bytes after the map are malformed") {
  auto body = encode(task{
    .id = "t-1", .type = "echo", .payload = "abc", .created_ms = 1, .deadline_ms = {}, .meta = {}});
  CHECK_MALFORMED(decode_task(body + '\0'), "1 trailing bytes");
  CHECK_MALFORMED(decode_task(body + body), "trailing bytes");
}

TEST_CASE("a body that is not a map is malformed") {
  CHECK_MALFORMED(decode_task("\x93\x01\x02\x03"), "array, expected a map");
  CHECK_MALFORMED(decode_task("\x07"), "positive integer, expected a map");
  CHECK_MALFORMED(decode_task(mp_str("t-1")), "str, expected a map");
}

TEST_CASE("a body without `v` or with another version is malformed") {
  CHECK_MALFORMED(decode_task(body_of(without(valid_task, "v"))), "`v`", "version 2");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "v", mp_uint(7)))),
                  "unsupported wire version 7; this worker reads version 2");
  // A version 1 body (before the task id moved into the subject) says which version it is.
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "v", mp_uint(1)))),
                  "unsupported wire version 1; this worker reads version 2");
  CHECK_MALFORMED(decode_result(body_of(with(valid_result, "v", mp_uint(0)))),
                  "unsupported wire version 0");
  CHECK_MALFORMED(decode_dead_letter(body_of(with(valid_dead_letter, "v", mp_str("1")))),
                  "field `v`: expected positive integer, got str");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "v", mp_int(-1)))),
                  "field `v`: expected positive integer, got negative integer");
}

TEST_CASE("a duplicate key is malformed") {
  auto twice = valid_task;
  twice.emplace_back("id", mp_str("t-2"));
  CHECK_MALFORMED(decode_task(body_of(twice)), "field `id` appears twice");
  auto unknown_twice = valid_result;
  unknown_twice.emplace_back("x", mp_nil);
  unknown_twice.emplace_back("x", mp_nil);
  CHECK_MALFORMED(decode_result(body_of(unknown_twice)), "field `x` appears twice");
}

TEST_CASE("a key that is not a str is malformed") {
  auto body = body_of(valid_task);
  body[0] = static_cast<char>(static_cast<unsigned char>(body[0]) + 1); // one more entry
  body += mp_uint(3) + mp_nil;
  CHECK_MALFORMED(decode_task(body), "key 5 is a positive integer");
}

TEST_CASE("nesting deeper than the depth limit is malformed, not a stack overflow") {
  std::string deep = mp_nil;
  for (int i = 0; i < 10'000; ++i)
    deep = "\x91" + deep;
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "x", deep))), "nest deeper");
}

TEST_CASE("a map header claiming 2^32 entries is refused without allocating for them") {
  CHECK_MALFORMED(decode_task("\xdf\xff\xff\xff\xff"s), "map has more than");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "x", "\xdd\xff\xff\xff\xff"s))),
                  "array has more than");
  CHECK_MALFORMED(decode_task("\xdb\xff\xff\xff\xff"s), "truncated"); // str32 of 4 GiB
}

// -- the fields ----------------------------------------------------------------------------------

TEST_CASE("every missing required field is malformed and named") {
  for (const auto& [name, value] : valid_task)
    if (name != "v")
      CHECK_MALFORMED(decode_task(body_of(without(valid_task, name))),
                      "task: missing required field `" + name + "`");
  for (const auto& [name, value] : valid_result)
    if (name != "v")
      CHECK_MALFORMED(decode_result(body_of(without(valid_result, name))),
                      "result: missing required field `" + name + "`");
  for (const auto& [name, value] : valid_dead_letter)
    if (name != "v")
      CHECK_MALFORMED(decode_dead_letter(body_of(without(valid_dead_letter, name))),
                      "dead letter: missing required field `" + name + "`");
}

TEST_CASE("a task field of the wrong msgpack type is malformed and named") {
  auto bad = [](const std::string& key, std::string value) {
    return decode_task(body_of(with(valid_task, key, std::move(value))));
  };
  CHECK_MALFORMED(bad("id", mp_uint(1)), "field `id`: expected str, got positive integer");
  CHECK_MALFORMED(bad("id", mp_bin("t-1")), "field `id`: expected str, got bin");
  CHECK_MALFORMED(bad("type", mp_nil), "field `type`: expected str, got nil");
  CHECK_MALFORMED(bad("payload", mp_str("{}")), "field `payload`: expected bin, got str");
  CHECK_MALFORMED(bad("created_ms", mp_float(1.0)),
                  "field `created_ms`: expected integer, got float64");
  CHECK_MALFORMED(bad("created_ms", mp_uint(std::numeric_limits<std::uint64_t>::max())),
                  "field `created_ms`: 18446744073709551615 is out of range");
  CHECK_MALFORMED(bad("deadline_ms", mp_str("soon")),
                  "field `deadline_ms`: expected integer, got str");
  CHECK_MALFORMED(bad("meta", "\x90"s), "field `meta`: expected map, got array");
}

TEST_CASE("a result field of the wrong msgpack type is malformed and named") {
  auto bad = [](const std::string& key, std::string value) {
    return decode_result(body_of(with(valid_result, key, std::move(value))));
  };
  CHECK_MALFORMED(bad("id", mp_int(-3)), "field `id`: expected str, got negative integer");
  CHECK_MALFORMED(bad("ok", mp_uint(1)), "field `ok`: expected bool, got positive integer");
  CHECK_MALFORMED(bad("ok", mp_str("true")), "field `ok`: expected bool, got str");
  CHECK_MALFORMED(bad("output", mp_str("out")), "field `output`: expected bin, got str");
  CHECK_MALFORMED(bad("error", mp_uint(1)), "field `error`: expected str, got positive integer");
  CHECK_MALFORMED(bad("attempts", mp_int(-1)),
                  "field `attempts`: expected a non-negative integer, got -1");
  CHECK_MALFORMED(bad("attempts", mp_str("1")),
                  "field `attempts`: expected positive integer, got str");
  CHECK_MALFORMED(bad("attempts", mp_uint(1ULL << 32)),
                  "field `attempts`: 4294967296 is out of range (at most 4294967295)");
  CHECK_MALFORMED(bad("worker", mp_bin("w")), "field `worker`: expected str, got bin");
  CHECK_MALFORMED(bad("started_ms", mp_bool(false)), "field `started_ms`: expected integer");
  CHECK_MALFORMED(bad("finished_ms", mp_nil), "field `finished_ms`: expected integer, got nil");
}

TEST_CASE("a dead letter field of the wrong msgpack type is malformed and named") {
  auto bad = [](const std::string& key, std::string value) {
    return decode_dead_letter(body_of(with(valid_dead_letter, key, std::move(value))));
  };
  CHECK_MALFORMED(bad("role", mp_uint(1)), "field `role`: expected str");
  CHECK_MALFORMED(bad("reason", mp_bin("r")), "field `reason`: expected str, got bin");
  CHECK_MALFORMED(bad("subject", mp_nil), "field `subject`: expected str, got nil");
  CHECK_MALFORMED(bad("stream_seq", mp_int(-5)),
                  "field `stream_seq`: expected a non-negative integer, got -5");
  CHECK_MALFORMED(bad("failed_ms", mp_float(2.5)), "field `failed_ms`: expected integer");
  CHECK_MALFORMED(bad("original", mp_str("x")), "field `original`: expected bin, got str");
}

TEST_CASE("an empty id, or an id or type that cannot stand in a subject, is malformed") {
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "id", mp_str("")))),
                  "field `id`: must not be empty");
  CHECK_MALFORMED(decode_result(body_of(with(valid_result, "id", mp_str("")))),
                  "field `id`: must not be empty");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "type", mp_str("")))),
                  "field `type`: must not be empty");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "id", mp_str("a.b")))),
                  "field `id`: \"a.b\" has \".\" at byte 1");
  CHECK_MALFORMED(decode_result(body_of(with(valid_result, "id", mp_str("t>")))), "field `id`");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "type", mp_str("e cho")))),
                  "field `type`: \"e cho\" has \" \" at byte 1");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "id", mp_str("a\nb")))),
                  "has \"\\x0a\" at byte 1");
}

TEST_CASE("text fields that are not UTF-8 are malformed and named, wherever they are") {
  // An id of "\xff" once crashed the dispatcher (its start event could not be JSON).
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "id", mp_str("\xff")))),
                  "field `id`: is not valid UTF-8 (byte 0)");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "type", mp_str("ok\xc0\x80")))),
                  "field `type`: is not valid UTF-8 (byte 2)");
  CHECK_MALFORMED(decode_task(body_of(
                    with(valid_task, "meta", meta_map({{mp_str("k"), mp_str("\xed\xa0\x80")}})))),
                  "not valid UTF-8; meta is text");
  CHECK_MALFORMED(
    decode_task(body_of(with(valid_task, "meta", meta_map({{mp_str("\xfe"), mp_str("v")}})))),
    "not valid UTF-8; meta is text");
  CHECK_MALFORMED(decode_result(body_of(with(valid_result, "error", mp_str("bad \xff")))),
                  "field `error`: is not valid UTF-8");
  // Valid multi-byte text is fine in a token.
  auto ok = decode_task(body_of(with(valid_task, "id", mp_str("t-\xc3\xa9t\xc3\xa9"))));
  REQUIRE(ok);
  CHECK(ok->id == "t-\xc3\xa9t\xc3\xa9");
}

TEST_CASE("the encoder writes text that is not UTF-8 with U+FFFD, so what it writes decodes") {
  dead_letter d{.id = "t-1",
                .role = "r",
                .type = "echo",
                .reason = "handler said \xff\xfe",
                .attempts = 1,
                .subject = "smith.task.r.\xc0",
                .stream_seq = 7,
                .failed_ms = 1,
                .original = "\xff raw bytes stay raw"};
  auto back = decode_dead_letter(encode(d));
  REQUIRE(back);
  CHECK(back->reason == "handler said \xef\xbf\xbd\xef\xbf\xbd");
  CHECK(back->subject == "smith.task.r.\xef\xbf\xbd");
  CHECK(back->original == d.original);
}

TEST_CASE("a string over max_string_bytes is malformed and named") {
  const decode_limits limits{.max_string_bytes = 8};
  auto long_text = mp_str(std::string(9, 'a'));
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "id", long_text)), limits),
                  "field `id`: 9 bytes, over the limit of 8");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "type", long_text)), limits),
                  "field `type`: 9 bytes");
  CHECK_MALFORMED(decode_result(body_of(with(valid_result, "worker", long_text)), limits),
                  "field `worker`: 9 bytes");
  CHECK_MALFORMED(decode_dead_letter(body_of(with(valid_dead_letter, "role", long_text)), limits),
                  "field `role`: 9 bytes");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "id", mp_str(std::string(1025, 'a'))))),
                  "field `id`: 1025 bytes, over the limit of 1024");
  // Free text is bounded by the body only.
  auto failed = decode_result(body_of(with(valid_result, "error", long_text)), limits);
  CHECK(failed.has_value());
}

TEST_CASE("a meta with too many entries, non-str entries or long strings is malformed") {
  auto entry = [](int i) { return std::pair{mp_str("k" + std::to_string(i)), mp_str("v")}; };
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 64; ++i)
    entries.push_back(entry(i));
  auto ok = decode_task(body_of(with(valid_task, "meta", meta_map(entries))));
  REQUIRE_MESSAGE(ok.has_value(), ok.error().to_string());
  CHECK(ok->meta.size() == 64);
  entries.push_back(entry(64));
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "meta", meta_map(entries)))),
                  "field `meta`: 65 entries, over the limit of 64");
  auto meta = [](std::string key, std::string value) {
    return decode_task(body_of(with(valid_task, "meta", meta_map({{key, value}}))),
                       {.max_string_bytes = 4});
  };
  CHECK_MALFORMED(meta(mp_str("k"), mp_uint(1)),
                  "field `meta`: the value of \"k\" is a positive integer; values must be str");
  CHECK_MALFORMED(meta(mp_str("k"), mp_bin("v")), "field `meta`: the value of \"k\" is a bin");
  CHECK_MALFORMED(meta(mp_uint(1), mp_str("v")), "field `meta`: key 0 is a positive integer");
  CHECK_MALFORMED(meta(mp_str("k"), mp_str("12345")), "field `meta`", "over 4 bytes");
  CHECK_MALFORMED(meta(mp_str("12345"), mp_str("v")), "field `meta`", "over 4 bytes");
  CHECK_MALFORMED(
    decode_task(body_of(with(valid_task, "meta",
                             meta_map({{mp_str("k"), mp_str("1")}, {mp_str("k"), mp_str("2")}})))),
    "field `meta`: the key \"k\" appears twice");
}

// -- hostile input -------------------------------------------------------------------------------

namespace {

/// Decodes `body` as all three records; each must give a value or a malformed error.
void decode_all(const std::string& body) {
  auto is_clean = [](const auto& got) {
    return got.has_value() || got.error().code() == errc::malformed;
  };
  CHECK(is_clean(decode_task(body)));
  CHECK(is_clean(decode_result(body)));
  CHECK(is_clean(decode_dead_letter(body)));
}

} // namespace

TEST_CASE("random bytes never crash the decoder") {
  std::mt19937_64 rng{20240601}; // fixed seed: the same inputs on every run
  std::string body;
  for (int i = 0; i < 4000; ++i) {
    body.resize(rng() % 96);
    for (auto& c : body)
      c = static_cast<char>(rng());
    if (i % 2 == 0 && !body.empty()) // start half of them like a record, to get past the root
      body[0] = static_cast<char>(0x80 | (rng() % 16));
    decode_all(body);
  }
}

TEST_CASE("valid bodies with random bytes flipped never crash the decoder") {
  std::mt19937_64 rng{7};
  const std::string bodies[] = {encode(task{.id = "t-1",
                                            .type = "echo",
                                            .payload = binary,
                                            .created_ms = 1,
                                            .deadline_ms = 2,
                                            .meta = {{"a", "b"}, {"c", "d"}}}),
                                encode(result{.id = "t-1",
                                              .ok = false,
                                              .output = binary,
                                              .error = "e",
                                              .attempts = 2,
                                              .worker = "w",
                                              .started_ms = 1,
                                              .finished_ms = 2}),
                                encode(dead_letter{.id = "t",
                                                   .role = "r",
                                                   .type = "t",
                                                   .reason = "x",
                                                   .attempts = 3,
                                                   .subject = "s",
                                                   .stream_seq = 9,
                                                   .failed_ms = 1,
                                                   .original = binary})};
  for (int i = 0; i < 3000; ++i) {
    auto body = bodies[i % 3];
    for (auto flips = 1 + rng() % 4; flips > 0; --flips)
      body[rng() % body.size()] = static_cast<char>(rng());
    decode_all(body);
  }
}

TEST_CASE("every truncation of a valid body is an error, never a crash") {
  const std::string bodies[] = {encode(task{.id = "t-1",
                                            .type = "echo",
                                            .payload = binary,
                                            .created_ms = 1,
                                            .deadline_ms = 2,
                                            .meta = {{"a", "b"}}}),
                                encode(result{.id = "t-1",
                                              .ok = true,
                                              .output = binary,
                                              .error = {},
                                              .attempts = 1,
                                              .worker = "w",
                                              .started_ms = 1,
                                              .finished_ms = 2}),
                                encode(dead_letter{.id = "t",
                                                   .role = "r",
                                                   .type = "t",
                                                   .reason = "x",
                                                   .attempts = 3,
                                                   .subject = "s",
                                                   .stream_seq = 9,
                                                   .failed_ms = 1,
                                                   .original = binary})};
  for (const auto& body : bodies)
    for (std::size_t size = 0; size < body.size(); ++size) {
      CAPTURE(size);
      auto prefix = body.substr(0, size);
      decode_all(prefix);
      CHECK_FALSE(decode_task(prefix).has_value());
      CHECK_FALSE(decode_result(prefix).has_value());
      CHECK_FALSE(decode_dead_letter(prefix).has_value());
    }
}
