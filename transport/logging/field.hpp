// One field of a log line: a key and a value (a string, an integer, a double or a bool).
// Fields exist only while their line is written (SMITH_LOG builds them in the statement that
// writes it), so a string value is a view of the caller's data, never a copy.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace smith::transport::logging {

namespace detail {

template <class T>
concept character = std::same_as<T, char> || std::same_as<T, wchar_t> || std::same_as<
  T, char8_t> || std::same_as<T, char16_t> || std::same_as<T, char32_t>;

} // namespace detail

class value {
public:
  /// Nothing: the field is left out of the line (an empty optional).
  using absent = std::monostate;
  using variant = std::variant<absent, std::string_view, std::int64_t, std::uint64_t, double, bool>;

  // -- constructors: implicit, so a field reads {"key", expression} ---------------------------

  value(std::string_view text) noexcept : v_(text) {
  }

  value(const std::string& text) noexcept : v_(std::string_view{text}) {
  }

  /// A null pointer is the empty string.
  value(const char* text) noexcept : v_(std::string_view{text == nullptr ? "" : text}) {
  }

  value(bool b) noexcept : v_(b) {
  }

  value(double d) noexcept : v_(d) {
  }

  template <class T>
  requires std::signed_integral<T> &&(!detail::character<T>)value(T n) noexcept
    : v_(static_cast<std::int64_t>(n)) {
  }

  template <class T>
  requires std::unsigned_integral<T> &&(!std::same_as<T, bool>)&&(!detail::character<T>)
    value(T n) noexcept
    : v_(static_cast<std::uint64_t>(n)) {
  }

  /// The contained value, or no field at all when empty.
  template <class T>
  value(const std::optional<T>& maybe) noexcept {
    if (maybe)
      v_ = value{*maybe}.v_;
  }

  // -- properties ---------------------------------------------------------------------------

  const variant& get() const noexcept {
    return v_;
  }

  bool present() const noexcept {
    return !std::holds_alternative<absent>(v_);
  }

private:
  variant v_;
};

struct field {
  std::string_view key;
  value val;
};

} // namespace smith::transport::logging
