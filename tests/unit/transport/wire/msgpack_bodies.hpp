// msgpack bodies built by hand, so a test can drop, retype or repeat one field.
#pragma once

#include "transport/wire/envelope.hpp"
#include <concepts>
#include <cstdint>
#include <cstring>
#include <doctest/doctest.h>
#include <initializer_list>
#include <limits>
#include <msgpack.hpp>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

using namespace smith::transport;
using namespace smith::transport::wire;
using namespace std::string_literals;

namespace envelope_testing {

// -- building bodies by hand, so a test can drop, retype or repeat one field --------------------

template <class F>
inline std::string packed(F&& pack) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer{buffer};
  pack(packer);
  return {buffer.data(), buffer.size()};
}

inline std::string mp_str(std::string_view text) {
  return packed([&](auto& p) {
    p.pack_str(static_cast<std::uint32_t>(text.size()));
    p.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
  });
}

inline std::string mp_bin(std::string_view bytes) {
  return packed([&](auto& p) {
    p.pack_bin(static_cast<std::uint32_t>(bytes.size()));
    p.pack_bin_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
  });
}

inline std::string mp_int(std::int64_t value) {
  return packed([&](auto& p) { p.pack_int64(value); });
}

inline std::string mp_uint(std::uint64_t value) {
  return packed([&](auto& p) { p.pack_uint64(value); });
}

inline std::string mp_bool(bool value) {
  return packed([&](auto& p) { p.pack(value); });
}

// Written by hand: msgpack-c 4.x packs a double with an integral value (1.0) as an integer.
inline std::string mp_float(double value) {
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
inline std::string body_of(const fields& f) {
  auto out = packed([&](auto& p) { p.pack_map(static_cast<std::uint32_t>(f.size())); });
  for (const auto& [key, value] : f)
    out += mp_str(key) + value;
  return out;
}

inline fields with(fields f, const std::string& key, std::string value) {
  for (auto& [name, old] : f)
    if (name == key) {
      old = std::move(value);
      return f;
    }
  f.emplace_back(key, std::move(value));
  return f;
}

inline fields without(fields f, const std::string& key) {
  std::erase_if(f, [&](const auto& entry) { return entry.first == key; });
  return f;
}

inline std::string meta_map(const std::vector<std::pair<std::string, std::string>>& entries) {
  auto out = packed([&](auto& p) { p.pack_map(static_cast<std::uint32_t>(entries.size())); });
  for (const auto& [key, value] : entries)
    out += key + value;
  return out;
}

const fields valid_task = {{"v", mp_uint(2)},
                           {"id", mp_str("t-1")},
                           {"type", mp_str("echo")},
                           {"payload", mp_bin("{}")},
                           {"created_ms", mp_int(1)}};

const fields valid_result = {{"v", mp_uint(2)},         {"id", mp_str("t-1")},
                             {"ok", mp_bool(true)},     {"output", mp_bin("out")},
                             {"attempts", mp_uint(1)},  {"worker", mp_str("host/1")},
                             {"started_ms", mp_int(1)}, {"finished_ms", mp_int(2)}};

const fields valid_dead_letter = {{"v", mp_uint(2)},          {"id", mp_str("t-1")},
                                  {"role", mp_str("demo")},   {"type", mp_str("echo")},
                                  {"reason", mp_str("bad")},  {"attempts", mp_uint(3)},
                                  {"subject", mp_str("s.t")}, {"stream_seq", mp_uint(42)},
                                  {"failed_ms", mp_int(9)},   {"original", mp_bin("x")}};

// -- checking failures ---------------------------------------------------------------------------

template <class T>
inline void check_error(const expected<T>& got, errc code,
                        std::initializer_list<std::string_view> needles, int line) {
  INFO("called from line ", line);
  REQUIRE_FALSE(got.has_value());
  const auto& message = got.error().message();
  INFO("message: ", message);
  CHECK(got.error().code() == code);
  for (auto needle : needles)
    CHECK_MESSAGE(message.find(needle) != std::string::npos, "missing: ", std::string{needle});
}

#define CHECK_MALFORMED(expr, ...) check_error(expr, errc::malformed, {__VA_ARGS__}, __LINE__)

inline std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

/// The keys of an encoded body and the msgpack type of each value.
inline std::vector<std::pair<std::string, msgpack::type::object_type>>
shape(const std::string& body) {
  auto handle = msgpack::unpack(body.data(), body.size());
  std::vector<std::pair<std::string, msgpack::type::object_type>> out;
  const auto& map = handle.get().via.map;
  for (std::uint32_t i = 0; i < map.size; ++i)
    out.emplace_back(map.ptr[i].key.as<std::string>(), map.ptr[i].val.type);
  return out;
}

const std::string binary = "\x00\xff\x01\xfe\x00\x00\x80\x7f"s;

} // namespace envelope_testing
