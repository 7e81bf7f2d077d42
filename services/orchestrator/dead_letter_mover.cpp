#include "services/orchestrator/dead_letter_mover.hpp"

#include "services/orchestrator/log.hpp"
#include "transport/clock.hpp"
#include "transport/publisher.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"
#include "transport/wire/subjects.hpp"
#include "transport/wire/trace_context.hpp"

#include <nlohmann/json.hpp>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds call_timeout{5000};

std::optional<std::string_view> trace_id(const tp::stored_message& m) {
  auto header = m.header(tp::wire::headers::traceparent);
  return header ? tp::wire::trace_id_of(*header) : std::nullopt;
}

// Moves the task an advisory names. Returns false when it should be tried again later.
bool move(const tp::connection& conn, tp::publisher& pub, const tp::wire::subjects& names,
          std::string_view advisory) {
  auto doc = nlohmann::json::parse(advisory, nullptr, false);
  if (!doc.is_object() || !doc.contains("stream_seq")) {
    SMITH_LOG(log(), warn, "ignoring a malformed MAX_DELIVERIES advisory");
    return true;
  }
  auto seq = doc.value("stream_seq", std::uint64_t{0});
  auto deliveries = doc.value("deliveries", std::uint32_t{0});
  auto consumer = doc.value("consumer", std::string{});
  auto original = tp::message_at(conn, names.tasks_stream(), seq);
  if (!original) {
    SMITH_LOG(log(), warn, "cannot read a dead task", {"stream_seq", seq},
              {"error", original.error().message()});
    return false;
  }
  if (!*original)
    return true; // already moved by a replica, or acked or terminated at the last moment
  const auto& m = **original;
  tp::wire::dead_letter d;
  auto task = tp::wire::decode_task(m.data);
  if (task)
    d.id = task->id;
  else if (auto id = m.header(tp::wire::headers::msg_id))
    d.id = std::string{*id};
  d.role = consumer.starts_with("role-") ? consumer.substr(5) : consumer;
  auto addr = names.parse_task(m.subject);
  d.type = addr ? addr->type : (task ? task->type : "");
  std::uint32_t prior = 0;
  if (task)
    if (auto it = task->meta.find("prior_attempts"); it != task->meta.end())
      prior = static_cast<std::uint32_t>(std::strtoul(it->second.c_str(), nullptr, 10));
  d.attempts = prior + deliveries;
  d.reason = "delivered " + std::to_string(deliveries)
             + " times (MaxDeliver) without an outcome: the workers that took it crashed, were "
               "killed or ran past AckWait";
  d.subject = m.subject;
  d.stream_seq = seq;
  d.failed_ms = tp::unix_ms();
  d.original = m.data;
  tp::outgoing dl;
  dl.subject = names.dlq(d.role.empty() ? "unknown" : d.role,
                         tp::wire::is_subject_token(d.type) ? d.type : "unknown");
  dl.body = tp::wire::encode(d);
  dl.msg_id = "dlq-" + std::to_string(seq);
  if (auto r = pub.publish(dl, call_timeout); !r) {
    SMITH_LOG(log(), warn, "cannot store a dead letter", {"task_id", d.id}, {"stream_seq", seq},
              {"error", r.error().message()});
    return false;
  }
  if (!d.id.empty() && tp::wire::is_subject_token(d.id)) {
    tp::wire::result res;
    res.id = d.id;
    res.ok = false;
    res.error = d.reason;
    res.status = "dead";
    res.attempts = d.attempts;
    res.worker = "orchestrator";
    res.started_ms = res.finished_ms = d.failed_ms;
    auto out = tp::result_message(names, d.role.empty() ? "unknown" : d.role, res);
    if (tp::wire::is_subject_token(d.type))
      out.headers.emplace_back(tp::wire::headers::type, d.type);
    out.msg_id = tp::result_msg_id(seq);
    if (auto r = pub.publish(out, call_timeout); !r)
      return false;
  }
  if (auto r = tp::delete_message(conn, names.tasks_stream(), seq); !r)
    return false;
  SMITH_LOG(log(), error, "task moved to the dead-letter stream", {"task_id", d.id},
            {"trace_id", trace_id(m)}, {"error_type", "max_deliveries"}, {"stream_seq", seq},
            {"attempts", d.attempts});
  return true;
}

} // namespace

dead_letter_mover::dead_letter_mover(std::shared_ptr<tp::connection> conn, tp::topology_config topo)
  : conn_(std::move(conn)), topo_(std::move(topo)) {
  thread_ = std::thread{[this] { run(); }};
}

dead_letter_mover::~dead_letter_mover() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

void dead_letter_mover::run() {
  tp::wire::subjects names{topo_.prefix};
  std::unique_ptr<tp::pull_consumer> consumer;
  std::unique_ptr<tp::publisher> pub;
  while (!stop_) {
    if (!consumer) {
      auto c = tp::pull_consumer::bind(conn_, names.advisories_stream(),
                                       tp::wire::subjects::dead_letter_consumer());
      auto p = tp::publisher::create(conn_, {});
      if (!c || !p) {
        bound_ = false;
        std::this_thread::sleep_for(milliseconds{500}); // a pause between retries, not a sync
        continue;
      }
      consumer = std::move(*c);
      pub = std::move(*p);
      bound_ = true;
    }
    // A short expiry keeps shutdown prompt.
    auto batch = consumer->fetch(16, milliseconds{500});
    if (!batch) {
      std::this_thread::sleep_for(milliseconds{200}); // disconnected: do not spin
      continue;
    }
    for (auto& msg : *batch) {
      if (move(*conn_, *pub, names, msg.data())) {
        (void)msg.ack_sync(call_timeout);
        ++moved_;
      } else {
        (void)msg.nak(milliseconds{1000});
      }
    }
  }
}

} // namespace smith::services::orchestrator
