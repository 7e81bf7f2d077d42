// A benchmark cannot go on after an error: must() unwraps a transport result or dies with it.
#pragma once

#include "raw_pipeline.hpp"
#include "transport/expected.hpp"

#include <utility>

namespace smith::bench {

template <class T>
T must(transport::expected<T> v) {
  if (!v)
    die(v.error().to_string());
  return std::move(*v);
}

inline void must(const transport::expected<void>& v) {
  if (!v)
    die(v.error().to_string());
}

} // namespace smith::bench
