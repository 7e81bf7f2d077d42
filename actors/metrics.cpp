#include "actors/metrics.hpp"

#include "transport/wire/utf8.hpp"

#include <prometheus/text_serializer.h>

namespace smith::actors {

namespace {

// The text format is UTF-8: a byte that is not becomes U+FFFD rather than spoil the scrape.
std::string label_value(std::string_view bytes) {
  return transport::wire::to_utf8_lossy(bytes);
}

// Brings a counter up to a total kept elsewhere (the connection counts its reconnects).
void catch_up(prometheus::Counter& counter, std::uint64_t total) {
  auto now = static_cast<double>(total);
  if (auto was = counter.Value(); now > was)
    counter.Increment(now - was);
}

} // namespace

metrics::metrics(const std::string& role, std::size_t max_types)
  : tasks_(prometheus::BuildCounter()
             .Name("smith_tasks_total")
             .Help("Task attempts by how they ended.")
             .Labels({{"role", label_value(role)}})
             .Register(registry_)),
    durations_(prometheus::BuildHistogram()
                 .Name("smith_task_duration_seconds")
                 .Help("Time from start to end of an attempt.")
                 .Labels({{"role", label_value(role)}})
                 .Register(registry_)),
    in_flight_(prometheus::BuildGauge()
                 .Name("smith_tasks_in_flight")
                 .Help("Tasks running now.")
                 .Register(registry_)
                 .Add({{"role", label_value(role)}})),
    restarts_(prometheus::BuildCounter()
                .Name("smith_actor_restarts_total")
                .Help("Actors restarted by a supervisor.")
                .Register(registry_)
                .Add({{"role", label_value(role)}})),
    reconnects_(prometheus::BuildCounter()
                  .Name("smith_nats_reconnects_total")
                  .Help("Times the NATS connection came back.")
                  .Register(registry_)
                  .Add({{"role", label_value(role)}})),
    max_types_(max_types) {
}

std::pair<const std::string, metrics::by_type>& metrics::series_of(const std::string& type) {
  auto label = label_value(type);
  auto it = types_.find(label);
  bool folded = false;
  if (it == types_.end() && named_ >= max_types_) {
    folded = true;
    label = other_type;
    it = types_.find(label);
  }
  if (it != types_.end())
    return *it;
  if (!folded)
    ++named_;
  by_type fresh;
  fresh.duration = &durations_.Add(
    {{"type", label}}, prometheus::Histogram::BucketBoundaries{buckets.begin(), buckets.end()});
  return *types_.emplace(std::move(label), std::move(fresh)).first;
}

void metrics::task_finished(const std::string& type, const std::string& outcome,
                            std::chrono::steady_clock::duration took) {
  std::lock_guard guard{mtx_};
  auto& [label, series] = series_of(type);
  auto it = series.tasks.find(outcome);
  if (it == series.tasks.end())
    it = series.tasks.emplace(outcome, &tasks_.Add({{"type", label}, {"outcome", outcome}})).first;
  it->second->Increment();
  series.duration->Observe(std::chrono::duration<double>(took).count());
}

std::uint64_t metrics::count(const std::string& outcome) const {
  std::lock_guard guard{mtx_};
  double n = 0;
  for (const auto& [type, series] : types_)
    if (auto it = series.tasks.find(outcome); it != series.tasks.end())
      n += it->second->Value();
  return static_cast<std::uint64_t>(n);
}

std::string metrics::render(std::uint64_t reconnects) {
  {
    std::lock_guard guard{mtx_};
    catch_up(reconnects_, reconnects);
  }
  return prometheus::TextSerializer{}.Serialize(registry_.Collect());
}

} // namespace smith::actors
