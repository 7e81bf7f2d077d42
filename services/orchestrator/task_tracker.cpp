#include "services/orchestrator/task_tracker.hpp"

#include "services/orchestrator/log.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace smith::services::orchestrator {

std::unique_ptr<task_tracker>
task_tracker::start(const std::shared_ptr<transport::connection>& conn,
                    const transport::wire::subjects& names) {
  std::unique_ptr<task_tracker> self{new task_tracker};
  auto* raw = self.get();
  auto events = transport::subscription::create(
    conn, names.all_events(), [raw](const transport::core_message& m) { raw->on_event(m.data); });
  auto results_prefix = names.all_results();
  results_prefix.pop_back(); // "<prefix>.result."
  auto results = transport::subscription::create(
    conn, names.all_results(), [raw, results_prefix](const transport::core_message& m) {
      raw->on_result(m.subject.substr(results_prefix.size()));
    });
  if (!events || !results)
    SMITH_LOG(log(), warn, "task tracker cannot subscribe; status reads the streams only",
              {"error", (!events ? events.error() : results.error()).message()});
  if (events)
    self->events_ = std::move(*events);
  if (results)
    self->results_ = std::move(*results);
  return self;
}

std::optional<live_task> task_tracker::find(const std::string& id) const {
  std::lock_guard guard{mtx_};
  auto it = live_.find(id);
  if (it == live_.end())
    return std::nullopt;
  return it->second;
}

std::size_t task_tracker::size() const {
  std::lock_guard guard{mtx_};
  return live_.size();
}

void task_tracker::on_event(std::string_view data) {
  auto doc = nlohmann::json::parse(data, nullptr, false);
  if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string())
    return;
  auto id = doc["id"].get<std::string>();
  auto kind = doc.value("kind", "");
  std::lock_guard guard{mtx_};
  if (kind == "started") {
    auto& t = live_[id];
    t.role = doc.value("role", "");
    t.type = doc.value("type", "");
    t.worker = doc.value("worker", "");
    t.attempt = doc.value("attempt", 0U);
    t.started_ms = doc.value("ts_ms", std::int64_t{0});
  } else if (kind == "progress") {
    auto it = live_.find(id);
    if (it == live_.end())
      return;
    it->second.percent = doc.value("percent", 0);
    it->second.message = doc.value("message", "");
  }
  if (live_.size() > max_entries) {
    auto oldest = std::min_element(live_.begin(), live_.end(), [](auto& a, auto& b) {
      return a.second.started_ms < b.second.started_ms;
    });
    live_.erase(oldest);
  }
}

void task_tracker::on_result(std::string_view id) {
  std::lock_guard guard{mtx_};
  if (auto it = live_.find(id); it != live_.end())
    live_.erase(it);
}

} // namespace smith::services::orchestrator
