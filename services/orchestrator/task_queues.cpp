// Queues: per role, pending and in-flight from the consumer, live workers from pings.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/ping_reply.hpp"
#include "services/orchestrator/request_fields.hpp"
#include "services/orchestrator/task_ids.hpp"
#include "transport/clock.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/stream_reader.hpp"
#include "transport/subscription.hpp"

#include <condition_variable>
#include <map>
#include <mutex>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;
using std::chrono::milliseconds;

json task_service::queues(milliseconds ping_wait) {
  // Ask the workers who is there: each answers with its role.
  std::mutex mtx;
  std::map<std::string, int> workers;
  auto inbox = "_INBOX." + random_hex(12);
  auto sub = must(tp::subscription::create(conn_, inbox,
                                           [&](const tp::core_message& m) {
                                             auto role = ping_reply_role(m.data);
                                             if (!role)
                                               return;
                                             std::lock_guard guard{mtx};
                                             ++workers[*role];
                                           }),
                  "subscribe for worker answers");
  must(tp::publish_core(*conn_, names_.worker_ping(), "", inbox), "ping the workers");
  must(conn_->flush(api_timeout), "ping the workers");
  auto asked = std::chrono::steady_clock::now();
  json out = json::array();
  auto tasks = names_.tasks_stream();
  auto now = tp::unix_ms();
  for (const auto& role : known_roles()) {
    auto info = must(tp::consumer_info(*conn_, tasks, tp::wire::subjects::consumer(role)),
                     "read consumer " + tp::wire::subjects::consumer(role));
    double oldest = 0;
    if (info.num_pending > 0) {
      auto m = must(
        tp::next_message(*conn_, tasks, info.delivered_stream_seq + 1, names_.task_filter(role)),
        "read the oldest task of " + role);
      if (m && m->time_ms > 0)
        oldest = static_cast<double>(std::max<std::int64_t>(now - m->time_ms, 0)) / 1000.0;
    }
    out.push_back({{"role", role},
                   {"pending", info.num_pending},
                   {"in_flight", info.num_ack_pending},
                   {"oldest_pending_s", oldest}});
  }
  std::this_thread::sleep_until(asked + ping_wait); // answers arrive within the wait
  sub.reset();
  std::lock_guard guard{mtx};
  for (auto& q : out)
    q["workers"] = workers[q["role"].get<std::string>()];
  return {{"queues", out}};
}

} // namespace smith::services::orchestrator
