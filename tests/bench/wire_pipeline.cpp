#include "wire_pipeline.hpp"

#include "must.hpp"
#include "raw_pipeline.hpp"

#include "transport/clock.hpp"
#include "transport/config.hpp"
#include "transport/publisher.hpp"
#include "transport/topology.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"
#include "transport/wire/subjects.hpp"

#include <unistd.h>

namespace smith::bench {

namespace tp = smith::transport;

namespace {

// The loop sends what smith sends: transport's own messages, handed to nats.c.
natsMsg* to_nats(const tp::outgoing& out) {
  return must(tp::nats_message(out)).release();
}

} // namespace

double run_like_for_like(const std::string& url, const tp::connection& admin, int n, int round) {
  tp::topology_config cfg;
  cfg.prefix = "lflwire";
  cfg.roles = {"bench"};
  const tp::wire::subjects names{cfg.prefix};
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string worker = std::string{host} + "/" + std::to_string(::getpid());

  careful_work work;
  work.tasks_stream = names.tasks_stream();
  work.filter = names.task_filter("bench");
  work.durable = tp::wire::subjects::consumer("bench");
  work.consumer_declared = true;
  work.declare = [&](jsCtx*) { must(tp::apply(admin, tp::declare(cfg))); };
  work.publish = [&](jsCtx* js, const std::string& prefix, int count) {
    tp::wire::task t;
    t.type = "echo";
    t.payload.assign(256, 'p');
    t.created_ms = tp::unix_ms();
    for (int i = 0; i < count; ++i) {
      t.id = prefix + std::to_string(i);
      natsMsg* m = to_nats(must(tp::task_message(names, "bench", t)));
      check(js_PublishMsgAsync(js, &m, nullptr), "publish task");
    }
    check(js_PublishAsyncComplete(js, nullptr), "publish complete");
  };
  work.result_for = [&](natsMsg* task) {
    jsMsgMetaData* meta = nullptr;
    check(natsMsg_GetMetaData(&meta, task), "task metadata");
    auto seq = meta->Sequence.Stream;
    auto attempts = static_cast<std::uint32_t>(meta->NumDelivered);
    jsMsgMetaData_Destroy(meta);
    auto started = tp::unix_ms();
    auto t = tp::wire::decode_task(
      {natsMsg_GetData(task), static_cast<std::size_t>(natsMsg_GetDataLength(task))});
    if (!t)
      die("like-for-like: a task did not decode: " + t.error().to_string());
    tp::wire::result r;
    r.id = t->id;
    r.ok = true;
    r.output = std::move(t->payload);
    r.attempts = attempts;
    r.worker = worker;
    r.started_ms = started;
    r.finished_ms = tp::unix_ms();
    auto out = tp::result_message(names, "bench", r);
    // As the dispatcher stores it (actors/dispatcher_outcome.cpp).
    out.headers.emplace_back(tp::wire::headers::type, t->type);
    out.msg_id = tp::result_msg_id(seq);
    return to_nats(out);
  };
  return run_careful_worker(url, n, round, work);
}

} // namespace smith::bench
