#include "services/orchestrator/task_tracker.hpp"

#include "services/orchestrator/log.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <tuple>

namespace smith::services::orchestrator {

std::unique_ptr<task_tracker>
task_tracker::start(const std::shared_ptr<transport::connection>& conn,
                    const transport::wire::subjects& names, throughput* counts) {
  std::unique_ptr<task_tracker> self{new task_tracker};
  auto* raw = self.get();
  auto events = transport::subscription::create(
    conn, names.all_events(), [raw](const transport::core_message& m) { raw->on_event(m.data); });
  auto results_prefix = names.all_results();
  results_prefix.pop_back(); // "<prefix>.result."
  auto results = transport::subscription::create(
    conn, names.all_results(), [raw, results_prefix, counts](const transport::core_message& m) {
      // <prefix>.result.<role>.<id>: the id is what follows the role.
      auto after = std::string_view{m.subject}.substr(results_prefix.size());
      raw->on_result(after.substr(after.find('.') + 1));
      if (counts && m.subject.size() > results_prefix.size()) { // <prefix>.result.<role>.<id>
        auto rest = std::string_view{m.subject}.substr(results_prefix.size());
        counts->record(rest.substr(0, rest.find('.')),
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
      }
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

std::vector<std::pair<std::string, live_task>> task_tracker::running(std::string_view role,
                                                                     std::size_t limit) const {
  std::lock_guard guard{mtx_};
  // Pointers first: up to max_entries are sorted, only `limit` copied.
  std::vector<const decltype(live_)::value_type*> all;
  for (const auto& entry : live_)
    if (role.empty() || entry.second.role == role)
      all.push_back(&entry);
  auto keep = std::min(limit, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                    [](const auto* a, const auto* b) {
                      return std::tie(a->second.started_ms, a->first)
                             > std::tie(b->second.started_ms, b->first);
                    });
  std::vector<std::pair<std::string, live_task>> out;
  for (std::size_t i = 0; i < keep; ++i)
    out.emplace_back(all[i]->first, all[i]->second);
  return out;
}

namespace {

// Events come from any publisher on <prefix>.event.>: a field of the wrong type or out of range
// reads as absent, never as an exception (nlohmann's value() throws on a type mismatch).
std::string text(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

template <class Int>
Int number(const nlohmann::json& doc, const char* key, Int lo, Int hi) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer())
    return Int{};
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    return v <= static_cast<std::uint64_t>(hi) ? static_cast<Int>(v) : Int{};
  }
  auto v = it->get<std::int64_t>();
  return v >= static_cast<std::int64_t>(lo) && v <= static_cast<std::int64_t>(hi)
           ? static_cast<Int>(v)
           : Int{};
}

} // namespace

void task_tracker::on_event(std::string_view data) {
  auto doc = nlohmann::json::parse(data, nullptr, false);
  if (!doc.is_object())
    return;
  auto id = text(doc, "id");
  if (id.empty())
    return;
  auto kind = text(doc, "kind");
  std::lock_guard guard{mtx_};
  if (kind == "started") {
    auto& t = live_[id];
    t.role = text(doc, "role");
    t.type = text(doc, "type");
    t.worker = text(doc, "worker");
    t.attempt = number<std::uint32_t>(doc, "attempt", 0, UINT32_MAX);
    t.started_ms = number<std::int64_t>(doc, "ts_ms", 0, INT64_MAX);
  } else if (kind == "progress") {
    auto it = live_.find(id);
    if (it == live_.end())
      return;
    it->second.percent = number<int>(doc, "percent", 0, 100);
    it->second.message = text(doc, "message");
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
