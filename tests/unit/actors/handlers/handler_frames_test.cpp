// The handler process protocol's frames (docs/HANDLER-PROTOCOL.md): what the worker writes, and
// how it reads what a process writes, which it trusts no more than any byte from outside.
#include "actors/handlers/handler_frames.hpp"

#include <doctest/doctest.h>
#include <msgpack.hpp>

using namespace smith::actors::handlers;

namespace {

// A frame as a process would write it: the length, then the map.
template <class Fill>
std::string body_of(std::uint32_t entries, Fill fill) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk{buf};
  pk.pack_map(entries);
  fill(pk);
  return {buf.data(), buf.size()};
}

std::string framed(const std::string& body) {
  auto n = static_cast<std::uint32_t>(body.size());
  std::string out{static_cast<char>(n >> 24U), static_cast<char>((n >> 16U) & 0xffU),
                  static_cast<char>((n >> 8U) & 0xffU), static_cast<char>(n & 0xffU)};
  return out + body;
}

template <class T>
T decoded_as(const std::string& body) {
  auto d = frames::decode(body);
  REQUIRE_MESSAGE(d.value, d.error);
  REQUIRE(std::holds_alternative<T>(*d.value));
  return std::get<T>(*d.value);
}

std::string error_of(const std::string& body) {
  auto d = frames::decode(body);
  CHECK_FALSE(d.value);
  return d.error;
}

} // namespace

TEST_CASE("a task frame is a length and a msgpack map a process can read") {
  frames::task_frame t{7, "t-1", "resize", std::string{"\x00\xff", 2}, 2, {{"k", "v"}}, 1234};
  auto bytes = frames::encode(t);
  REQUIRE(bytes.size() > 4);
  auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[2])) << 8U)
           | static_cast<unsigned char>(bytes[3]);
  CHECK(bytes[0] == 0);
  CHECK(bytes[1] == 0);
  CHECK(n == bytes.size() - 4);
  auto h = msgpack::unpack(bytes.data() + 4, bytes.size() - 4);
  auto m = h.get().as<std::map<std::string, msgpack::object>>();
  CHECK(m.at("kind").as<std::string>() == "task");
  CHECK(m.at("seq").as<std::uint64_t>() == 7);
  CHECK(m.at("payload").type == msgpack::type::BIN);
  CHECK(m.at("payload").as<std::string>() == std::string{"\x00\xff", 2});
  CHECK(m.at("attempt").as<int>() == 2);
  CHECK(m.at("meta").as<std::map<std::string, std::string>>().at("k") == "v");
  CHECK(m.at("deadline_ms").as<std::int64_t>() == 1234);
  auto c = frames::encode(frames::cancel_frame{7, "deadline"});
  auto ch = msgpack::unpack(c.data() + 4, c.size() - 4); // the map points into its zone
  auto cm = ch.get().as<std::map<std::string, msgpack::object>>();
  CHECK(cm.at("kind").as<std::string>() == "cancel");
  CHECK(cm.at("reason").as<std::string>() == "deadline");
}

TEST_CASE("what a process says is decoded; unknown keys are ignored") {
  auto hello = decoded_as<frames::hello>(body_of(4, [](auto& pk) {
    pk.pack("kind"), pk.pack("hello"), pk.pack("protocol"), pk.pack(1);
    pk.pack("concurrency"), pk.pack(8), pk.pack("types");
    pk.pack(std::vector<std::string>{"resize", "crop"});
  }));
  CHECK(hello.protocol == 1);
  CHECK(hello.concurrency == 8);
  CHECK(hello.types == std::vector<std::string>{"resize", "crop"});
  auto plain = decoded_as<frames::hello>(body_of(3, [](auto& pk) {
    pk.pack("kind"), pk.pack("hello"), pk.pack("protocol"), pk.pack(1), pk.pack("later"),
      pk.pack(1);
  }));
  CHECK(plain.concurrency == 1);
  CHECK(plain.types.empty());

  auto p = decoded_as<frames::progress>(body_of(4, [](auto& pk) {
    pk.pack("kind"), pk.pack("progress"), pk.pack("seq"), pk.pack(3), pk.pack("percent"),
      pk.pack(40), pk.pack("message"), pk.pack("resizing");
  }));
  CHECK(p.seq == 3);
  CHECK(p.percent == 40);
  CHECK(p.message == "resizing");

  auto r = decoded_as<frames::result>(body_of(5, [](auto& pk) {
    pk.pack("kind"), pk.pack("result"), pk.pack("seq"), pk.pack(3), pk.pack("status"),
      pk.pack("failed"), pk.pack("error"), pk.pack("bad size"), pk.pack("error_type");
    pk.pack("bad_input");
  }));
  CHECK(r.how == frames::result::status::failed);
  CHECK(r.error == "bad size");
  CHECK(r.error_type == "bad_input");
  auto ok = decoded_as<frames::result>(body_of(4, [](auto& pk) {
    pk.pack("kind"), pk.pack("result"), pk.pack("seq"), pk.pack(4), pk.pack("status"),
      pk.pack("succeeded"), pk.pack("output");
    pk.pack_bin(2), pk.pack_bin_body("\x01\x02", 2);
  }));
  CHECK(ok.output == "\x01\x02");
  auto l = decoded_as<frames::log_line>(body_of(3, [](auto& pk) {
    pk.pack("kind"), pk.pack("log"), pk.pack("level"), pk.pack("warn"), pk.pack("message");
    pk.pack("disk low");
  }));
  CHECK_FALSE(l.seq);
  CHECK(l.level == "warn");
}

TEST_CASE("a frame that breaks the protocol is an error saying why") {
  CHECK(error_of("\x93\x01\x02\x03").find("must be a msgpack map") != std::string::npos);
  CHECK(error_of("\xc1").find("not one msgpack map") != std::string::npos);
  CHECK(error_of(body_of(1, [](auto& pk) { pk.pack("kind"), pk.pack("dance"); }))
        == "dance: unknown kind \"dance\"");
  CHECK(error_of(body_of(1, [](auto& pk) { pk.pack("other"), pk.pack(1); }))
        == "frame: `kind` is missing");
  CHECK(error_of(body_of(2,
                         [](auto& pk) {
                           pk.pack("kind"), pk.pack("hello"), pk.pack("kind"), pk.pack("log");
                         }))
          .find("appears twice")
        != std::string::npos);
  CHECK(error_of(body_of(3,
                         [](auto& pk) {
                           pk.pack("kind"), pk.pack("progress"), pk.pack("seq"), pk.pack(1),
                             pk.pack("percent");
                           pk.pack(101);
                         }))
        == "progress: `percent` must be an integer from 0 to 100");
  CHECK(error_of(body_of(3,
                         [](auto& pk) {
                           pk.pack("kind"), pk.pack("result"), pk.pack("seq"), pk.pack(1),
                             pk.pack("status");
                           pk.pack("failed");
                         }))
        == "result: `error` is missing");
  CHECK(error_of(body_of(3,
                         [](auto& pk) {
                           pk.pack("kind"), pk.pack("hello"), pk.pack("protocol"), pk.pack(1),
                             pk.pack("concurrency");
                           pk.pack(0);
                         }))
          .find("`concurrency` must be from 1 to 1024")
        != std::string::npos);
  // A map header claiming 2^32 entries is refused before anything is allocated for them.
  CHECK(error_of(std::string{"\xdf\xff\xff\xff\xff", 5}).find("not one msgpack map")
        != std::string::npos);
}

TEST_CASE("the reader cuts a byte stream into frames, whatever the pieces") {
  auto a = body_of(1, [](auto& pk) { pk.pack("kind"), pk.pack("a"); });
  auto b = body_of(1, [](auto& pk) { pk.pack("kind"), pk.pack("bb"); });
  auto stream = framed(a) + framed(b);
  frames::reader r;
  std::vector<std::string> got;
  for (char c : stream) { // one byte at a time
    r.feed(std::string_view{&c, 1});
    while (auto body = r.next())
      got.push_back(*body);
  }
  CHECK(got == std::vector<std::string>{a, b});
  CHECK(r.error().empty());

  frames::reader zero;
  zero.feed(std::string{"\0\0\0\0", 4});
  CHECK_FALSE(zero.next());
  CHECK(zero.error() == "a frame length of 0 (1 to 16777216 bytes)");
  frames::reader huge;
  huge.feed(std::string{"\x01\x00\x00\x01", 4});
  CHECK_FALSE(huge.next());
  CHECK(huge.error().find("16777217") != std::string::npos);
}
