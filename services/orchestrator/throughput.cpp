#include "services/orchestrator/throughput.hpp"

namespace smith::services::orchestrator {

namespace {

constexpr auto ring_size = static_cast<std::int64_t>(throughput::buckets);

std::size_t slot_of(std::int64_t bucket) {
  return static_cast<std::size_t>(((bucket % ring_size) + ring_size) % ring_size);
}

} // namespace

void throughput::record(std::string_view role, std::int64_t now_ms) {
  auto bucket = now_ms / bucket_ms;
  std::lock_guard guard{mtx_};
  auto it = roles_.find(role);
  if (it == roles_.end()) {
    if (roles_.size() >= max_roles)
      return;
    it = roles_.emplace(std::string{role}, series{bucket, {}}).first;
  }
  auto& s = it->second;
  if (bucket < s.last - ring_size + 1)
    return; // older than the window
  // The buckets skipped since the last result held none.
  for (auto b = s.last + 1; b <= bucket && b <= s.last + ring_size; ++b)
    s.counts[slot_of(b)] = 0;
  if (bucket > s.last)
    s.last = bucket;
  ++s.counts[slot_of(bucket)];
}

std::map<std::string, std::vector<std::uint32_t>> throughput::history(std::int64_t now_ms) const {
  auto now = now_ms / bucket_ms;
  std::map<std::string, std::vector<std::uint32_t>> out;
  std::lock_guard guard{mtx_};
  for (const auto& [role, s] : roles_) {
    auto& counts = out[role];
    counts.reserve(buckets);
    for (auto b = now - ring_size + 1; b <= now; ++b) {
      bool held = b <= s.last && b > s.last - ring_size;
      counts.push_back(held ? s.counts[slot_of(b)] : 0);
    }
  }
  return out;
}

} // namespace smith::services::orchestrator
