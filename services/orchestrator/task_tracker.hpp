// What the orchestrator knows of running tasks beyond the streams: who runs them, which
// attempt, their last progress. Fed by core NATS events (<prefix>.event.>), forgotten when the
// result arrives (<prefix>.result.>). Costs no JetStream write; a restarted orchestrator
// learns again from the next events, and the streams stay the truth for every final state.
#pragma once

#include "services/orchestrator/throughput.hpp"
#include "transport/connection.hpp"
#include "transport/subscription.hpp"
#include "transport/wire/subjects.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smith::services::orchestrator {

struct live_task {
  std::string role;
  std::string type;
  std::string worker;
  std::uint32_t attempt = 0;
  std::int64_t started_ms = 0;
  std::optional<int> percent;
  std::string message;
};

class task_tracker {
public:
  /// Entries kept at most; past it the oldest-started are dropped (status then falls back
  /// to reading the streams).
  static constexpr std::size_t max_entries = 200'000;

  /// `counts` (may be null, must outlive the tracker) counts each result by its role.
  static std::unique_ptr<task_tracker> start(const std::shared_ptr<transport::connection>& conn,
                                             const transport::wire::subjects& names,
                                             throughput* counts = nullptr);

  std::optional<live_task> find(const std::string& id) const;
  std::size_t size() const;

  /// Up to `limit` running tasks of `role` (all roles when empty), last started first.
  std::vector<std::pair<std::string, live_task>> running(std::string_view role,
                                                         std::size_t limit) const;

private:
  friend struct task_tracker_feed; // tests/fuzz: events and results without a NATS connection

  task_tracker() = default;
  void on_event(std::string_view data);
  void on_result(std::string_view subject_id);

  mutable std::mutex mtx_;
  std::map<std::string, live_task, std::less<>> live_;
  std::unique_ptr<transport::subscription> events_;
  std::unique_ptr<transport::subscription> results_;
};

} // namespace smith::services::orchestrator
