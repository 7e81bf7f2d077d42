// What every benchmark program shares besides the baselines: must() unwraps a transport result
// or dies with it (a benchmark cannot go on after an error), the median of its rounds, and the
// lists of counts its flags take.
#pragma once

#include "raw_pipeline.hpp"
#include "transport/expected.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

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

/// The median of the rounds (the mean of the two middle ones for an even count).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// `text` as a comma-separated list of counts from 1 to `most`, or dies saying what `flag`
/// wants (`wanted`, e.g. "a list of counts from 1 to 64 such as 1,2,4").
inline std::vector<int> parse_counts(const std::string& flag, const std::string& text, long most,
                                     const std::string& wanted) {
  std::vector<int> out;
  std::stringstream in{text};
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    long n = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || n < 1 || n > most)
      die(flag + " wants " + wanted + "; got \"" + text + "\"");
    out.push_back(static_cast<int>(n));
  }
  if (out.empty())
    die(flag + " wants " + wanted + "; got nothing");
  return out;
}

/// `text` as one count from 1 to `most`, or dies saying what `flag` wants.
inline int positive(const std::string& flag, const std::string& text, long most) {
  auto values =
    parse_counts(flag, text, most, "one positive integer up to " + std::to_string(most));
  if (values.size() != 1)
    die(flag + " wants one positive integer, got \"" + text + "\"");
  return values.front();
}

} // namespace smith::bench
