// Strict reading of a record body: msgpack-c throws on bad input, so every call into it is
// wrapped here and its exceptions become errc::malformed errors with the record named.
#include "transport/wire/msgpack_reader.hpp"

#include "transport/wire/subjects.hpp"
#include "transport/wire/utf8.hpp"

#include <algorithm>
#include <limits>
#include <new>
#include <string>

namespace smith::transport::wire {

namespace {

// The offset of the first byte that does not begin a valid UTF-8 sequence, or npos.
std::size_t first_invalid_utf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    auto n = utf8_sequence_length(text.substr(at));
    if (n == 0)
      return at;
    at += n;
  }
  return std::string_view::npos;
}

/// Room for the top-level keys of a record (seven to ten in version 1, more in later ones),
/// added to max_meta_entries to bound the size every map or array header may claim.
constexpr std::size_t max_record_keys = 64;

/// The body is level 1, `meta` level 2; unknown keys of later versions get two more.
constexpr std::size_t max_depth = 4;

using msgpack::type::object_type;

std::string to_text(std::string_view view) {
  return std::string{view};
}

error malformed(std::string_view record, std::string_view message) {
  std::string text{record};
  text += ": ";
  text += message;
  return error{errc::malformed, std::move(text)};
}

/// Quotes `text` for a message: at most 40 bytes, non-printable bytes as \xNN.
std::string quoted(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out{"\""};
  for (std::size_t i = 0; i < text.size() && i < 40; ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u >= 0x7f || u == '"' || u == '\\') {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += static_cast<char>(u);
    }
  }
  out += text.size() > 40 ? "\"..." : "\"";
  return out;
}

std::string_view view_of(const msgpack::object& value) noexcept {
  return {value.via.str.ptr, value.via.str.size};
}

// Strings and bins point into the body instead of being copied into the zone. Note that
// msgpack-c then skips its str/bin/ext size limits (it checks them only when it copies), so
// the field readers check lengths themselves.
bool reference_all(object_type, std::size_t, void*) {
  return true;
}

/// Unpacks `body` and converts every msgpack-c exception into an error.
expected<msgpack::object_handle> unpack(std::string_view body, std::string_view record,
                                        const decode_limits& limits) {
  // A map or array header makes msgpack-c allocate for all its entries before reading any, so
  // a 5-byte body claiming 2^32 entries would ask for 128 GiB without this cap.
  const std::size_t entries = limits.max_meta_entries + max_record_keys;
  const std::size_t bytes = limits.max_body_bytes; // for str, bin and ext (see reference_all)
  const msgpack::unpack_limit limit{entries, entries, bytes, bytes, bytes, max_depth};
  const auto size = std::to_string(body.size());
  try {
    std::size_t offset = 0;
    auto handle = msgpack::unpack(body.data(), body.size(), offset, reference_all, nullptr, limit);
    // Only the overload with an offset reveals trailing bytes; the others ignore them silently.
    if (offset != body.size())
      return malformed(record, std::to_string(body.size() - offset)
                                 + " trailing bytes after the msgpack value (the body is " + size
                                 + " bytes); a body is exactly one map");
    return expected<msgpack::object_handle>{std::move(handle)};
  } catch (const msgpack::depth_size_overflow&) {
    return malformed(record, "maps or arrays nest deeper than " + std::to_string(max_depth)
                               + " levels; version 1 records nest 2 (the body and `meta`)");
  } catch (const msgpack::map_size_overflow&) {
    return malformed(record, "a map has more than " + std::to_string(entries)
                               + " entries (the limit is decode_limits::max_meta_entries + "
                               + std::to_string(max_record_keys) + ")");
  } catch (const msgpack::array_size_overflow&) {
    return malformed(record, "an array has more than " + std::to_string(entries) + " entries");
  } catch (const msgpack::size_overflow& ex) {
    return malformed(record, to_text(ex.what()) + " (a str, bin or ext over the body limit)");
  } catch (const msgpack::insufficient_bytes&) {
    return malformed(record, "the " + size + "-byte body is truncated inside a msgpack value");
  } catch (const msgpack::parse_error&) {
    return malformed(record, "the " + size + "-byte body is not msgpack (docs/WIRE.md)");
  } catch (const std::bad_alloc&) {
    return error{errc::internal,
                 to_text(record) + ": out of memory decoding a " + size + "-byte body"};
  } catch (const std::exception& ex) {
    return malformed(record, "the body does not decode: " + to_text(ex.what()));
  } catch (...) {
    return malformed(record, "the body does not decode (unknown msgpack-c exception)");
  }
}

} // namespace

std::string_view type_name(object_type type) noexcept {
  switch (type) {
    case object_type::NIL:
      return "nil";
    case object_type::BOOLEAN:
      return "bool";
    case object_type::POSITIVE_INTEGER:
      return "positive integer";
    case object_type::NEGATIVE_INTEGER:
      return "negative integer";
    case object_type::FLOAT32:
      return "float32";
    case object_type::FLOAT64:
      return "float64";
    case object_type::STR:
      return "str";
    case object_type::BIN:
      return "bin";
    case object_type::ARRAY:
      return "array";
    case object_type::MAP:
      return "map";
    case object_type::EXT:
      return "ext";
  }
  return "unknown type";
}

msgpack_reader::msgpack_reader(msgpack::object_handle handle, std::string_view record,
                               const decode_limits& limits)
  : handle_(std::move(handle)), record_(record), limits_(limits) {
}

expected<msgpack_reader> msgpack_reader::open(std::string_view body, std::string_view record,
                                              const decode_limits& limits) {
  if (body.size() > limits.max_body_bytes)
    return error{errc::too_large,
                 to_text(record) + ": the body is " + std::to_string(body.size())
                   + " bytes, over the limit of " + std::to_string(limits.max_body_bytes)
                   + " bytes. Hint: raise max_msg_size (SMITH_MAX_MSG_BYTES) on every service, "
                     "or pass large payloads by reference (e.g. an object store key)"};
  if (body.empty())
    return malformed(record, "the body is empty; expected a msgpack map (docs/WIRE.md)");
  auto handle = unpack(body, record, limits);
  if (!handle)
    return handle.error();
  const msgpack::object& root = handle->get();
  if (root.type != object_type::MAP)
    return malformed(record, "the body is a msgpack " + to_text(type_name(root.type))
                               + ", expected a map (docs/WIRE.md)");
  const auto& map = root.via.map;
  for (std::uint32_t i = 0; i < map.size; ++i) {
    const auto& key = map.ptr[i].key;
    if (key.type != object_type::STR)
      return malformed(record, "key " + std::to_string(i) + " is a " + to_text(type_name(key.type))
                                 + "; every key must be a str");
    // Quadratic, but the map header is capped by the unpack limit and records have ~8 keys.
    for (std::uint32_t j = 0; j < i; ++j)
      if (view_of(map.ptr[j].key) == view_of(key))
        return malformed(record, "field `" + to_text(view_of(key)).substr(0, 64)
                                   + "` appears twice; every key must be unique");
  }
  msgpack_reader reader{std::move(*handle), record, limits};
  const auto* version = reader.find("v");
  if (version == nullptr)
    return malformed(record, "missing field `v` (the wire version); this worker reads version "
                               + std::to_string(wire_version));
  if (version->type != object_type::POSITIVE_INTEGER)
    return malformed(record, "field `v`: expected positive integer, got "
                               + to_text(type_name(version->type)));
  if (version->via.u64 != wire_version)
    return malformed(record, "unsupported wire version " + std::to_string(version->via.u64)
                               + "; this worker reads version " + std::to_string(wire_version)
                               + (version->via.u64 < wire_version
                                    ? " (publish in the current form: docs/WIRE.md)"
                                    : " (upgrade workers before publishers)"));
  return expected<msgpack_reader>{std::move(reader)};
}

// -- lookup and checks ---------------------------------------------------------------------------

const msgpack::object* msgpack_reader::find(std::string_view key) const noexcept {
  const auto& map = handle_.get().via.map;
  for (std::uint32_t i = 0; i < map.size; ++i)
    if (view_of(map.ptr[i].key) == key)
      return &map.ptr[i].val;
  return nullptr;
}

const msgpack::object* msgpack_reader::required(std::string_view key) {
  if (error_)
    return nullptr;
  const auto* value = find(key);
  if (value == nullptr)
    fail("missing required field `" + to_text(key) + "`");
  return value;
}

const msgpack::object* msgpack_reader::optional(std::string_view key) const noexcept {
  if (error_)
    return nullptr;
  const auto* value = find(key);
  return value == nullptr || value->type == object_type::NIL ? nullptr : value;
}

bool msgpack_reader::expect(std::string_view key, const msgpack::object& value, object_type type) {
  if (value.type == type)
    return true;
  fail("field `" + to_text(key) + "`: expected " + to_text(type_name(type)) + ", got "
       + to_text(type_name(value.type)));
  return false;
}

bool msgpack_reader::check_text(std::string_view key, std::string_view text, text_rule rule) {
  const auto field = "field `" + to_text(key) + "`: ";
  // msgpack's str is UTF-8 text: bytes that are not become log lines, JSON and subjects
  // downstream, where they break things. Raw bytes belong in a bin field (payload, output).
  if (auto bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    fail(field + "is not valid UTF-8 (byte " + std::to_string(bad)
         + "); send text as UTF-8, or raw bytes in a bin field");
    return false;
  }
  if (rule == text_rule::any)
    return true;
  if (text.size() > limits_.max_string_bytes) {
    fail(field + std::to_string(text.size()) + " bytes, over the limit of "
         + std::to_string(limits_.max_string_bytes) + " (decode_limits::max_string_bytes)");
    return false;
  }
  if (rule == text_rule::bounded || is_subject_token(text))
    return true;
  if (text.empty()) {
    fail(field + "must not be empty");
    return false;
  }
  std::size_t at = 0;
  while (at < text.size() && is_subject_token(text.substr(at, 1)))
    ++at;
  fail(field + quoted(text) + " has " + quoted(text.substr(at, 1)) + " at byte "
       + std::to_string(at) + "; it must be one subject token (no '.', '*', '>', whitespace or "
       + "control characters)");
  return false;
}

bool msgpack_reader::read_u64(std::string_view key, const msgpack::object& value, std::uint64_t max,
                              std::uint64_t& out) {
  const auto field = "field `" + to_text(key) + "`: ";
  if (value.type == object_type::NEGATIVE_INTEGER) {
    fail(field + "expected a non-negative integer, got " + std::to_string(value.via.i64));
    return false;
  }
  if (!expect(key, value, object_type::POSITIVE_INTEGER))
    return false;
  if (value.via.u64 > max) {
    fail(field + std::to_string(value.via.u64) + " is out of range (at most " + std::to_string(max)
         + ")");
    return false;
  }
  out = value.via.u64;
  return true;
}

bool msgpack_reader::read_i64(std::string_view key, const msgpack::object& value,
                              std::int64_t& out) {
  if (value.type == object_type::NEGATIVE_INTEGER) {
    out = value.via.i64;
    return true;
  }
  std::uint64_t positive = 0;
  if (value.type != object_type::POSITIVE_INTEGER) {
    fail("field `" + to_text(key) + "`: expected integer, got " + to_text(type_name(value.type)));
    return false;
  }
  if (!read_u64(key, value, std::numeric_limits<std::int64_t>::max(), positive))
    return false;
  out = static_cast<std::int64_t>(positive);
  return true;
}

void msgpack_reader::fail(const std::string& message) {
  if (!error_)
    error_ = malformed(record_, message);
}

// -- required fields -----------------------------------------------------------------------------

void msgpack_reader::str(std::string_view key, std::string& out, text_rule rule) {
  const auto* value = required(key);
  if (value != nullptr && expect(key, *value, object_type::STR)
      && check_text(key, view_of(*value), rule))
    out.assign(view_of(*value));
}

void msgpack_reader::bin(std::string_view key, std::string& out) {
  const auto* value = required(key);
  if (value != nullptr && expect(key, *value, object_type::BIN))
    out.assign(value->via.bin.ptr, value->via.bin.size);
}

void msgpack_reader::boolean(std::string_view key, bool& out) {
  const auto* value = required(key);
  if (value != nullptr && expect(key, *value, object_type::BOOLEAN))
    out = value->via.boolean;
}

void msgpack_reader::i64(std::string_view key, std::int64_t& out) {
  if (const auto* value = required(key))
    read_i64(key, *value, out);
}

void msgpack_reader::u32(std::string_view key, std::uint32_t& out) {
  std::uint64_t wide = 0;
  const auto* value = required(key);
  if (value != nullptr && read_u64(key, *value, std::numeric_limits<std::uint32_t>::max(), wide))
    out = static_cast<std::uint32_t>(wide);
}

void msgpack_reader::u64(std::string_view key, std::uint64_t& out) {
  if (const auto* value = required(key))
    read_u64(key, *value, std::numeric_limits<std::uint64_t>::max(), out);
}

// -- optional fields -----------------------------------------------------------------------------

void msgpack_reader::optional_str(std::string_view key, std::optional<std::string>& out,
                                  text_rule rule) {
  const auto* value = optional(key);
  if (value != nullptr && expect(key, *value, object_type::STR)
      && check_text(key, view_of(*value), rule))
    out.emplace(view_of(*value));
}

void msgpack_reader::optional_i64(std::string_view key, std::optional<std::int64_t>& out) {
  std::int64_t number = 0;
  const auto* value = optional(key);
  if (value != nullptr && read_i64(key, *value, number))
    out = number;
}

void msgpack_reader::optional_str_map(std::string_view key,
                                      std::map<std::string, std::string>& out) {
  const auto* value = optional(key);
  if (value == nullptr || !expect(key, *value, object_type::MAP))
    return;
  const auto& map = value->via.map;
  const auto field = "field `" + to_text(key) + "`: ";
  if (map.size > limits_.max_meta_entries)
    return fail(field + std::to_string(map.size) + " entries, over the limit of "
                + std::to_string(limits_.max_meta_entries) + " (decode_limits::max_meta_entries)");
  for (std::uint32_t i = 0; i < map.size; ++i) {
    const auto& entry = map.ptr[i];
    if (entry.key.type != object_type::STR)
      return fail(field + "key " + std::to_string(i) + " is a " + to_text(type_name(entry.key.type))
                  + "; keys must be str");
    const auto name = view_of(entry.key);
    if (entry.val.type != object_type::STR)
      return fail(field + "the value of " + quoted(name) + " is a "
                  + to_text(type_name(entry.val.type)) + "; values must be str");
    const auto text = view_of(entry.val);
    if (first_invalid_utf8(name) != std::string_view::npos
        || first_invalid_utf8(text) != std::string_view::npos)
      return fail(field + "the entry " + std::to_string(i)
                  + " has a key or value that is not valid UTF-8; meta is text");
    if (std::max(name.size(), text.size()) > limits_.max_string_bytes)
      return fail(field + "the entry " + quoted(name) + " has a key or value over "
                  + std::to_string(limits_.max_string_bytes)
                  + " bytes (decode_limits::max_string_bytes)");
    if (!out.emplace(name, text).second)
      return fail(field + "the key " + quoted(name) + " appears twice");
  }
}

} // namespace smith::transport::wire
