// expected<T>: a value or a transport error. Async paths return it instead of throwing.
#pragma once

#include "transport/error.hpp"

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace smith::transport {

template <class T>
class [[nodiscard]] expected {
public:
  static_assert(!std::is_same_v<T, transport::error>);

  expected(T value) : value_(std::in_place_index<0>, std::move(value)) {
  }

  expected(transport::error err) : value_(std::in_place_index<1>, std::move(err)) {
  }

  bool has_value() const noexcept {
    return value_.index() == 0;
  }

  explicit operator bool() const noexcept {
    return has_value();
  }

  T& value() & {
    return std::get<0>(value_);
  }

  const T& value() const& {
    return std::get<0>(value_);
  }

  T&& value() && {
    return std::get<0>(std::move(value_));
  }

  T& operator*() & {
    return value();
  }

  const T& operator*() const& {
    return value();
  }

  T* operator->() {
    return &value();
  }

  const T* operator->() const {
    return &value();
  }

  const transport::error& error() const {
    return std::get<1>(value_);
  }

private:
  std::variant<T, transport::error> value_;
};

template <>
class [[nodiscard]] expected<void> {
public:
  expected() = default;

  expected(transport::error err) : error_(std::move(err)) {
  }

  bool has_value() const noexcept {
    return !error_.has_value();
  }

  explicit operator bool() const noexcept {
    return has_value();
  }

  const transport::error& error() const {
    return *error_;
  }

private:
  std::optional<transport::error> error_;
};

} // namespace smith::transport
