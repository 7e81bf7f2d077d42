// Results per role over the last 15 minutes, in 10 s buckets: the dashboard's throughput chart.
// Fed by the task tracker's subscription to <prefix>.result.>; kept in memory only (a restarted
// orchestrator starts from zero).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace smith::services::orchestrator {

class throughput {
public:
  static constexpr std::int64_t bucket_ms = 10'000;
  static constexpr std::size_t buckets = 90; // 15 minutes
  /// Roles counted at most: result subjects come from any publisher, a role past these is
  /// not counted.
  static constexpr std::size_t max_roles = 64;

  /// One result of `role` at `now_ms` (unix ms).
  void record(std::string_view role, std::int64_t now_ms);

  /// Per role: the counts of the `buckets` buckets up to the one `now_ms` falls in, oldest
  /// first.
  std::map<std::string, std::vector<std::uint32_t>> history(std::int64_t now_ms) const;

private:
  struct series {
    std::int64_t last = 0; ///< the newest bucket written (now_ms / bucket_ms)
    std::array<std::uint32_t, buckets> counts{};
  };

  mutable std::mutex mtx_;
  std::map<std::string, series, std::less<>> roles_;
};

} // namespace smith::services::orchestrator
