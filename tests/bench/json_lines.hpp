// Results as JSON lines, one object per measurement, for the report script to read. The
// schema is shared with that script: change a key here and the report breaks.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

namespace smith::bench {

/// One measurement.
struct measurement {
  std::string system; ///< "raw", "like_for_like", "smith", or the --system of latency_bench
  std::string metric; ///< "tasks_per_s", "p50_ms", ..., "cpu_s_per_1k", "rss_idle_kib", ...
  double value = 0;
  std::optional<int> round; ///< 1-based; absent for values that are not per round
  int workers = 1;
  std::optional<int> concurrency; ///< null when the worker runs at its default
  std::optional<int> rate;        ///< tasks/s offered; latency only
};

class json_lines {
public:
  /// Appends to `path`; an empty path writes nothing. Dies if the file cannot be opened.
  json_lines(std::string bench, const std::string& path);

  ~json_lines();

  json_lines(const json_lines&) = delete;
  json_lines& operator=(const json_lines&) = delete;

  /// Writes one line and flushes it, so a run that dies later keeps what it measured.
  void write(const measurement& m);

private:
  std::string bench_;
  std::FILE* out_ = nullptr;
};

} // namespace smith::bench
