#include "services/orchestrator/metrics.hpp"

#include "transport/wire/utf8.hpp"

#include <prometheus/text_serializer.h>

namespace smith::services::orchestrator {

namespace {

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& registry, const char* name,
                                             const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Counter& counter(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

// Brings a counter up to a total kept elsewhere.
void catch_up(prometheus::Counter& counter, std::uint64_t total) {
  auto now = static_cast<double>(total);
  if (auto was = counter.Value(); now > was)
    counter.Increment(now - was);
}

} // namespace

metrics::metrics()
  : pending_(gauge(registry_, "smith_queue_pending", "Tasks waiting for a worker.")),
    in_flight_(
      gauge(registry_, "smith_queue_in_flight", "Tasks delivered and not yet acknowledged.")),
    workers_(
      gauge(registry_, "smith_queue_workers", "Worker processes that answered the last ping.")),
    oldest_pending_(
      gauge(registry_, "smith_queue_oldest_pending_seconds", "Age of the oldest waiting task.")),
    moved_(counter(registry_, "smith_dead_letters_moved_total",
                   "Tasks that used up MaxDeliver without an outcome, moved to the dead-letter "
                   "stream by this process.")),
    reconnects_(
      counter(registry_, "smith_nats_reconnects_total", "Times the NATS connection came back.")) {
}

void metrics::set_queue(const std::string& role, const queue_depth& q) {
  // The text format is UTF-8: a byte that is not becomes U+FFFD rather than spoil the scrape.
  const prometheus::Labels labels{{"role", transport::wire::to_utf8_lossy(role)}};
  pending_.Add(labels).Set(q.pending);
  in_flight_.Add(labels).Set(q.in_flight);
  workers_.Add(labels).Set(q.workers);
  oldest_pending_.Add(labels).Set(q.oldest_pending_s);
}

std::string metrics::render(std::uint64_t dead_letters_moved, std::uint64_t reconnects) {
  {
    std::lock_guard guard{mtx_};
    catch_up(moved_, dead_letters_moved);
    catch_up(reconnects_, reconnects);
  }
  return prometheus::TextSerializer{}.Serialize(registry_.Collect());
}

} // namespace smith::services::orchestrator
