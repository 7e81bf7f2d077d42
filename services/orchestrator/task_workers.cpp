// Workers: who answers the ping (<prefix>.ping.workers) within the wait, as /v1/queues counts
// them.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/ping_reply.hpp"
#include "services/orchestrator/request_fields.hpp"
#include "services/orchestrator/task_ids.hpp"
#include "transport/subscription.hpp"

#include <algorithm>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;
using std::chrono::milliseconds;

json task_service::workers(milliseconds ping_wait) {
  // Anyone may answer the ping: at most this many answers are kept.
  constexpr std::size_t max_replies = 10'000;
  std::mutex mtx;
  std::vector<ping_reply> replies;
  auto inbox = "_INBOX." + random_hex(12);
  auto sub = must(tp::subscription::create(conn_, inbox,
                                           [&](const tp::core_message& m) {
                                             auto r = parse_ping_reply(m.data);
                                             std::lock_guard guard{mtx};
                                             if (r && replies.size() < max_replies)
                                               replies.push_back(std::move(*r));
                                           }),
                  "subscribe for worker answers");
  must(tp::publish_core(*conn_, names_.worker_ping(), "", inbox), "ping the workers");
  must(conn_->flush(api_timeout), "ping the workers");
  std::this_thread::sleep_for(ping_wait); // answers arrive within the wait
  sub.reset();
  std::lock_guard guard{mtx};
  std::sort(replies.begin(), replies.end(), [](const ping_reply& a, const ping_reply& b) {
    return std::tie(a.role, a.worker) < std::tie(b.role, b.worker);
  });
  json out = json::array();
  for (const auto& r : replies)
    out.push_back({{"worker", r.worker},
                   {"role", r.role},
                   {"concurrency", r.concurrency},
                   {"in_flight", r.in_flight}});
  return {{"workers", out}};
}

} // namespace smith::services::orchestrator
