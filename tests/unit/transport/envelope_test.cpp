// The envelope codec: round trips, one test per way a body can be malformed, a golden body
// that pins the bytes docs/WIRE.md shows, and random input that must never crash the decoder.
#include "transport/envelope.hpp"

#include <doctest/doctest.h>
#include <msgpack.hpp>

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
using namespace std::string_literals;

static_assert(std::equality_comparable<task>);
static_assert(std::equality_comparable<result>);
static_assert(std::equality_comparable<dead_letter>);
static_assert(std::is_nothrow_move_constructible_v<expected<std::string>>);

namespace {

// -- building bodies by hand, so a test can drop, retype or repeat one field --------------------

template <class F>
std::string packed(F&& pack) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer{buffer};
  pack(packer);
  return {buffer.data(), buffer.size()};
}

std::string mp_str(std::string_view text) {
  return packed([&](auto& p) {
    p.pack_str(static_cast<std::uint32_t>(text.size()));
    p.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
  });
}

std::string mp_bin(std::string_view bytes) {
  return packed([&](auto& p) {
    p.pack_bin(static_cast<std::uint32_t>(bytes.size()));
    p.pack_bin_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
  });
}

std::string mp_int(std::int64_t value) {
  return packed([&](auto& p) { p.pack_int64(value); });
}

std::string mp_uint(std::uint64_t value) {
  return packed([&](auto& p) { p.pack_uint64(value); });
}

std::string mp_bool(bool value) {
  return packed([&](auto& p) { p.pack(value); });
}

// Written by hand: msgpack-c 4.x packs a double with an integral value (1.0) as an integer.
std::string mp_float(double value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  std::string out{"\xcb"};
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>(bits >> shift);
  return out;
}

const std::string mp_nil = "\xc0"s;

/// The fields of a body in order, each value already msgpack-encoded.
using fields = std::vector<std::pair<std::string, std::string>>;

/// Assembles `f` into a map; a map header of `count` entries when given (to lie about it).
std::string body_of(const fields& f) {
  auto out = packed([&](auto& p) { p.pack_map(static_cast<std::uint32_t>(f.size())); });
  for (const auto& [key, value] : f)
    out += mp_str(key) + value;
  return out;
}

fields with(fields f, const std::string& key, std::string value) {
  for (auto& [name, old] : f)
    if (name == key) {
      old = std::move(value);
      return f;
    }
  f.emplace_back(key, std::move(value));
  return f;
}

fields without(fields f, const std::string& key) {
  std::erase_if(f, [&](const auto& entry) { return entry.first == key; });
  return f;
}

std::string meta_map(const std::vector<std::pair<std::string, std::string>>& entries) {
  auto out = packed([&](auto& p) { p.pack_map(static_cast<std::uint32_t>(entries.size())); });
  for (const auto& [key, value] : entries)
    out += key + value;
  return out;
}

const fields valid_task = {{"v", mp_uint(1)},
                           {"id", mp_str("t-1")},
                           {"type", mp_str("echo")},
                           {"payload", mp_bin("{}")},
                           {"created_ms", mp_int(1)}};

const fields valid_result = {{"v", mp_uint(1)},         {"id", mp_str("t-1")},
                             {"ok", mp_bool(true)},     {"output", mp_bin("out")},
                             {"attempts", mp_uint(1)},  {"worker", mp_str("host/1")},
                             {"started_ms", mp_int(1)}, {"finished_ms", mp_int(2)}};

const fields valid_dead_letter = {{"v", mp_uint(1)},          {"id", mp_str("t-1")},
                                  {"role", mp_str("demo")},   {"type", mp_str("echo")},
                                  {"reason", mp_str("bad")},  {"attempts", mp_uint(3)},
                                  {"subject", mp_str("s.t")}, {"stream_seq", mp_uint(42)},
                                  {"failed_ms", mp_int(9)},   {"original", mp_bin("x")}};

// -- checking failures ---------------------------------------------------------------------------

template <class T>
void check_error(const expected<T>& got, errc code, std::initializer_list<std::string_view> needles,
                 int line) {
  INFO("called from line ", line);
  REQUIRE_FALSE(got.has_value());
  const auto& message = got.error().message();
  INFO("message: ", message);
  CHECK(got.error().code() == code);
  for (auto needle : needles)
    CHECK_MESSAGE(message.find(needle) != std::string::npos, "missing: ", std::string{needle});
}

#define CHECK_MALFORMED(expr, ...) check_error(expr, errc::malformed, {__VA_ARGS__}, __LINE__)

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

/// The keys of an encoded body and the msgpack type of each value.
std::vector<std::pair<std::string, msgpack::type::object_type>> shape(const std::string& body) {
  auto handle = msgpack::unpack(body.data(), body.size());
  std::vector<std::pair<std::string, msgpack::type::object_type>> out;
  const auto& map = handle.get().via.map;
  for (std::uint32_t i = 0; i < map.size; ++i)
    out.emplace_back(map.ptr[i].key.as<std::string>(), map.ptr[i].val.type);
  return out;
}

const std::string binary = "\x00\xff\x01\xfe\x00\x00\x80\x7f"s;

} // namespace

// -- round trips ---------------------------------------------------------------------------------

TEST_CASE("a task survives an encode/decode round trip") {
  task in{.id = "t-1",
          .type = "echo",
          .payload = "{\"n\":1}",
          .created_ms = 1'700'000'000'000,
          .deadline_ms = {},
          .meta = {}};
  SUBCASE("without a deadline or meta") {
  }
  SUBCASE("with a deadline and meta") {
    in.deadline_ms = 1'700'000'060'000;
    in.meta = {{"tenant", "acme"}, {"", ""}, {"k\x00y"s, "v\xff"s}};
  }
  SUBCASE("with a binary payload of NUL and 0xFF bytes") {
    in.payload = binary;
  }
  SUBCASE("with an empty payload and negative times") {
    in.payload.clear();
    in.created_ms = std::numeric_limits<std::int64_t>::min();
    in.deadline_ms = -1;
  }
  SUBCASE("with a payload of 512 KiB") {
    in.payload.assign(512 * 1024, '\xff');
  }
  auto out = decode_task(encode(in));
  REQUIRE_MESSAGE(out.has_value(), out.error().to_string());
  CHECK(*out == in);
}

TEST_CASE("a task leaves out absent optional fields and writes strings as str, bytes as bin") {
  using msgpack::type::object_type;
  task in{
    .id = "t-1", .type = "echo", .payload = "p", .created_ms = 5, .deadline_ms = {}, .meta = {}};
  using shape_t = decltype(shape(""));
  CHECK(shape(encode(in))
        == shape_t{{"v", object_type::POSITIVE_INTEGER},
                   {"id", object_type::STR},
                   {"type", object_type::STR},
                   {"payload", object_type::BIN},
                   {"created_ms", object_type::POSITIVE_INTEGER}});
  in.deadline_ms = 6;
  in.meta = {{"a", "b"}};
  auto keys = shape(encode(in));
  REQUIRE(keys.size() == 7);
  CHECK(keys[5] == std::pair{"deadline_ms"s, object_type::POSITIVE_INTEGER});
  CHECK(keys[6] == std::pair{"meta"s, object_type::MAP});
}

TEST_CASE("a result survives an encode/decode round trip") {
  result in{.id = "t-1",
            .ok = true,
            .output = binary,
            .error = {},
            .attempts = 1,
            .worker = "host-a/4242",
            .started_ms = 10,
            .finished_ms = 20};
  SUBCASE("when it succeeded") {
  }
  SUBCASE("when it failed with an error") {
    in.ok = false;
    in.output.clear();
    in.error = "deadline exceeded\n\xff";
    in.attempts = std::numeric_limits<std::uint32_t>::max();
  }
  auto body = encode(in);
  CHECK((shape(body).size() == (in.error ? 9u : 8u)));
  auto out = decode_result(body);
  REQUIRE_MESSAGE(out.has_value(), out.error().to_string());
  CHECK(*out == in);
}

TEST_CASE("a dead letter survives an encode/decode round trip, even with an empty id") {
  dead_letter in{.id = "",
                 .role = "demo",
                 .type = "echo",
                 .reason = "field `id`: missing",
                 .attempts = 3,
                 .subject = "smith.task.demo.echo",
                 .stream_seq = std::numeric_limits<std::uint64_t>::max(),
                 .failed_ms = 7,
                 .original = binary};
  auto out = decode_dead_letter(encode(in));
  REQUIRE_MESSAGE(out.has_value(), out.error().to_string());
  CHECK(*out == in);
}

TEST_CASE("the encoding of a known task matches the bytes docs/WIRE.md shows") {
  task in{.id = "t-1",
          .type = "echo",
          .payload = "{\"n\":1}",
          .created_ms = 1'700'000'000'000,
          .deadline_ms = 1'700'000'060'000,
          .meta = {{"tenant", "acme"}}};
  // Changing these bytes changes the wire format: update docs/WIRE.md and think of old readers.
  CHECK(hex(encode(in))
        == "87a17601a26964a3742d31a474797065a46563686fa77061796c6f6164c4077b226e223a317d"
           "aa637265617465645f6d73cf0000018bcfe56800ab646561646c696e655f6d73cf0000018bcfe6"
           "5260a46d65746181a674656e616e74a461636d65");
  result done{.id = "t-1",
              .ok = true,
              .output = "2",
              .error = {},
              .attempts = 1,
              .worker = "w1",
              .started_ms = 1'700'000'000'100,
              .finished_ms = 1'700'000'000'200};
  CHECK(hex(encode(done))
        == "88a17601a26964a3742d31a26f6bc3a66f7574707574c40132a8617474656d70747301a6776f726b"
           "6572a27731aa737461727465645f6d73cf0000018bcfe56864ab66696e69736865645f6d73cf0000"
           "018bcfe568c8");
}

TEST_CASE("unknown keys are skipped so that newer writers stay readable") {
  auto nested = meta_map({{mp_str("a"), packed([](auto& p) {
                             p.pack_array(2);
                             p.pack(1);
                             p.pack(2);
                           })}});
  auto body = body_of(with(with(valid_task, "priority", mp_uint(5)), "future", nested));
  auto out = decode_task(body);
  REQUIRE_MESSAGE(out.has_value(), out.error().to_string());
  CHECK(out->id == "t-1");
}

TEST_CASE("optional fields sent as nil read as absent") {
  auto out = decode_task(body_of(with(with(valid_task, "deadline_ms", mp_nil), "meta", mp_nil)));
  REQUIRE_MESSAGE(out.has_value(), out.error().to_string());
  CHECK_FALSE(out->deadline_ms.has_value());
  CHECK(out->meta.empty());
  auto done = decode_result(body_of(with(valid_result, "error", mp_nil)));
  REQUIRE_MESSAGE(done.has_value(), done.error().to_string());
  CHECK_FALSE(done->error.has_value());
}

TEST_CASE("integers in signed formats and at the edges of their range decode") {
  auto signed_one = "\xd0\x01"s; // int8 1: other encoders may pick signed formats
  auto out = decode_result(body_of(with(with(valid_result, "v", signed_one), "attempts",
                                        mp_uint(std::numeric_limits<std::uint32_t>::max()))));
  REQUIRE_MESSAGE(out.has_value(), out.error().to_string());
  CHECK(out->attempts == std::numeric_limits<std::uint32_t>::max());
  auto big = decode_task(
    body_of(with(valid_task, "created_ms", mp_uint(std::numeric_limits<std::int64_t>::max()))));
  REQUIRE_MESSAGE(big.has_value(), big.error().to_string());
  CHECK(big->created_ms == std::numeric_limits<std::int64_t>::max());
}

// -- the envelope --------------------------------------------------------------------------------

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
  CHECK_MALFORMED(decode_task(body_of(without(valid_task, "v"))), "`v`", "version 1");
  CHECK_MALFORMED(decode_task(body_of(with(valid_task, "v", mp_uint(7)))),
                  "unsupported wire version 7; this worker reads version 1");
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
