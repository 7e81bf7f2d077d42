// The envelope codec: round trips, and a golden body that pins the bytes docs/WIRE.md shows.
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

static_assert(std::equality_comparable<task>);
static_assert(std::equality_comparable<result>);
static_assert(std::equality_comparable<dead_letter>);
static_assert(std::is_nothrow_move_constructible_v<expected<std::string>>);

using namespace envelope_testing;

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
    in.meta = {{"tenant", "acme"}, {"", ""}, {"k\x00y"s, "v\xc3\xa9"s}};
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
    in.error = "deadline exceeded\n\xc3\xa9";
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
        == "87a17602a26964a3742d31a474797065a46563686fa77061796c6f6164c4077b226e223a317d"
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
        == "88a17602a26964a3742d31a26f6bc3a66f7574707574c40132a8617474656d70747301a6776f726b"
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
  auto signed_two = "\xd0\x02"s; // int8 2: other encoders may pick signed formats
  auto out = decode_result(body_of(with(with(valid_result, "v", signed_two), "attempts",
                                        mp_uint(std::numeric_limits<std::uint32_t>::max()))));
  REQUIRE_MESSAGE(out.has_value(), out.error().to_string());
  CHECK(out->attempts == std::numeric_limits<std::uint32_t>::max());
  auto big = decode_task(
    body_of(with(valid_task, "created_ms", mp_uint(std::numeric_limits<std::int64_t>::max()))));
  REQUIRE_MESSAGE(big.has_value(), big.error().to_string());
  CHECK(big->created_ms == std::numeric_limits<std::int64_t>::max());
}

// -- the envelope --------------------------------------------------------------------------------
