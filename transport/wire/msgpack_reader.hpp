// Internal to transport/: strict, field-by-field reading of one msgpack map body (the records of
// envelope.hpp). Every failure becomes an errc::malformed that names the record and the field.
#pragma once

#include "transport/expected.hpp"
#include "transport/wire/envelope.hpp"

#include <msgpack.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace smith::transport::wire {

/// How a string field is checked beyond its msgpack type.
enum class text_rule : std::uint8_t {
  /// Any length the body allows (error texts, reasons, subjects).
  any,
  /// At most decode_limits::max_string_bytes; may be empty.
  bounded,
  /// Bounded, non-empty and usable as one subject token (task ids and types).
  token,
};

/// Reads the top-level map of one record body. The field readers record the first failure and
/// then do nothing, so a decoder reads every field in a row and checks once with finish().
/// Strings and bins reference the body (no copy in msgpack's zone): the body must outlive this.
class msgpack_reader {
public:
  /// Unpacks `body` as a `record` ("task", "result", "dead letter") and checks the envelope:
  /// size, msgpack validity, no trailing bytes, a map with str keys, no duplicate keys, and
  /// `v` equal to wire_version. Never throws.
  static expected<msgpack_reader> open(std::string_view body, std::string_view record,
                                       const decode_limits& limits);

  // -- required fields --------------------------------------------------------------------------

  void str(std::string_view key, std::string& out, text_rule rule);
  void bin(std::string_view key, std::string& out);
  void boolean(std::string_view key, bool& out);
  void i64(std::string_view key, std::int64_t& out);
  void u32(std::string_view key, std::uint32_t& out);
  void u64(std::string_view key, std::uint64_t& out);

  // -- optional fields: absent or nil leaves `out` empty ----------------------------------------

  void optional_str(std::string_view key, std::optional<std::string>& out, text_rule rule);
  void optional_i64(std::string_view key, std::optional<std::int64_t>& out);
  void optional_str_map(std::string_view key, std::map<std::string, std::string>& out);

  /// Returns `value`, or the first failure of the field readers.
  template <class T>
  expected<T> finish(T value) {
    if (error_)
      return std::move(*error_);
    return expected<T>{std::move(value)};
  }

private:
  msgpack_reader(msgpack::object_handle handle, std::string_view record,
                 const decode_limits& limits);

  const msgpack::object* find(std::string_view key) const noexcept;
  const msgpack::object* required(std::string_view key);
  const msgpack::object* optional(std::string_view key) const noexcept;
  bool expect(std::string_view key, const msgpack::object& value, msgpack::type::object_type type);
  bool check_text(std::string_view key, std::string_view text, text_rule rule);
  bool read_u64(std::string_view key, const msgpack::object& value, std::uint64_t max,
                std::uint64_t& out);
  bool read_i64(std::string_view key, const msgpack::object& value, std::int64_t& out);
  void fail(const std::string& message);

  msgpack::object_handle handle_;
  std::string_view record_;
  decode_limits limits_;
  std::optional<error> error_;
};

/// Returns the msgpack type as error messages name it ("positive integer", "str", "bin", ...).
std::string_view type_name(msgpack::type::object_type type) noexcept;

} // namespace smith::transport::wire
