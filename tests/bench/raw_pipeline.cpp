#include "raw_pipeline.hpp"

#include <nats/nats.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace smith::bench {

using clock_type = std::chrono::steady_clock;

void die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(1);
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

void check(natsStatus st, const char* what) {
  if (st != NATS_OK)
    die(std::string{what} + ": " + natsStatus_GetText(st) + " " + nats_GetLastError(nullptr));
}

// Not anonymous: latency_floor::state holds some of these, and a class with external linkage
// must not (GCC's -Wsubobject-linkage, an error in unity builds, where this file is included).
namespace raw {

using sub_ptr = std::unique_ptr<natsSubscription, decltype(&natsSubscription_Destroy)>;

// A connection and its JetStream context, as an application without our layers holds them.
class js_client {
public:
  js_client(const std::string& url, jsOptions jo) {
    check(natsOptions_Create(&opts_), "options");
    check(natsOptions_SetURL(opts_, url.c_str()), "url");
    check(natsOptions_SetSendAsap(opts_, true), "send asap");
    check(natsConnection_Connect(&nc_, opts_), "connect");
    check(natsConnection_JetStream(&js_, nc_, &jo), "jetstream");
  }

  ~js_client() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
    natsOptions_Destroy(opts_);
  }

  js_client(const js_client&) = delete;
  js_client& operator=(const js_client&) = delete;

  jsCtx* js() const noexcept {
    return js_;
  }

private:
  natsOptions* opts_ = nullptr;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

jsOptions publish_options() {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = 4096;
  return jo;
}

// A work queue for the tasks and a results stream, purged so every run stores into an empty one.
void add_streams(jsCtx* js, const char* tasks, const char* task_subject, const char* results,
                 const char* result_subject) {
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char* task_subjects[] = {task_subject};
  sc.Name = tasks;
  sc.Subjects = task_subjects;
  sc.SubjectsLen = 1;
  sc.Retention = js_WorkQueuePolicy;
  sc.Storage = js_FileStorage;
  check(js_AddStream(nullptr, js, &sc, nullptr, nullptr), "add tasks stream");
  const char* result_subjects[] = {result_subject};
  sc.Name = results;
  sc.Subjects = result_subjects;
  sc.Retention = js_LimitsPolicy;
  check(js_AddStream(nullptr, js, &sc, nullptr, nullptr), "add results stream");
  check(js_PurgeStream(js, results, nullptr, nullptr), "purge");
}

// Creates the durable consumer, or with `declared` binds to it as declare() made it.
sub_ptr pull_subscribe(jsCtx* js, const char* subject, const char* durable, bool declared = false) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  if (!declared) {
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.MaxAckPending = 100'000;
  }
  natsSubscription* sub = nullptr;
  check(js_PullSubscribe(&sub, js, subject, durable, nullptr, &so, nullptr), "pull subscribe");
  return {sub, &natsSubscription_Destroy};
}

// The client's side of both loops: n tasks of 256 B with ids <prefix><i>, all stored.
void publish_tasks(jsCtx* js, const char* subject, const std::string& prefix, int n) {
  std::string payload(256, 'p');
  jsPubOptions po;
  for (int i = 0; i < n; ++i) {
    jsPubOptions_Init(&po);
    auto id = prefix + std::to_string(i);
    po.MsgId = id.c_str();
    check(js_PublishAsync(js, subject, payload.data(), static_cast<int>(payload.size()), &po),
          "publish async");
  }
  check(js_PublishAsyncComplete(js, nullptr), "publish complete");
}

// -- the careful worker's bookkeeping ---------------------------------------------------------

// Which task message each result in flight ends: the PubAck handler acks it from here, so a
// task is acked only once its result is stored.
struct in_flight {
  std::mutex mtx;
  std::unordered_map<std::string, natsMsg*> tasks; // by the result's Nats-Msg-Id
  std::string first_error;
  std::atomic<int> acked{0};
  std::atomic<int> failed{0};
};

void on_result_ack(jsCtx*, natsMsg* result, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* f = static_cast<in_flight*>(closure);
  const char* id = nullptr;
  natsMsg* task = nullptr;
  {
    std::lock_guard guard{f->mtx};
    if (natsMsgHeader_Get(result, "Nats-Msg-Id", &id) == NATS_OK) {
      if (auto it = f->tasks.find(id); it != f->tasks.end()) {
        task = it->second;
        f->tasks.erase(it);
      }
    }
    if ((pa == nullptr || task == nullptr) && f->first_error.empty())
      f->first_error = pae != nullptr ? natsStatus_GetText(pae->Err) : "a PubAck for no task";
  }
  if (pa != nullptr && task != nullptr && natsMsg_Ack(task, nullptr) == NATS_OK)
    f->acked.fetch_add(1, std::memory_order_relaxed);
  else
    f->failed.fetch_add(1, std::memory_order_relaxed);
  natsMsg_Destroy(task);
  natsMsg_Destroy(result);
}

// The echo of `task` on `subject`, stored under `msg_id`: what both hand-written workers send
// back for a task, as smith does for its tasks (the result carries the task's 256 B).
natsStatus echo_result(natsMsg** result, natsMsg* task, const std::string& subject,
                       const char* msg_id) {
  auto st = natsMsg_Create(result, subject.c_str(), nullptr, natsMsg_GetData(task),
                           natsMsg_GetDataLength(task));
  if (st == NATS_OK)
    st = natsMsgHeader_Set(*result, "Nats-Msg-Id", msg_id);
  return st;
}

// The floor's task handler, on the push subscription's delivery thread.
struct floor_context {
  in_flight f;
  jsCtx* js = nullptr;
};

void on_floor_task(natsConnection*, natsSubscription*, natsMsg* task, void* closure) {
  auto* c = static_cast<floor_context*>(closure);
  std::string subject = natsMsg_GetSubject(task);
  auto id = subject.substr(subject.rfind('.') + 1);
  auto msg_id = "result-" + id;
  natsMsg* result = nullptr;
  auto st = echo_result(&result, task, std::string{latency_floor::result_prefix} + "." + id,
                        msg_id.c_str());
  if (st == NATS_OK) {
    {
      std::lock_guard guard{c->f.mtx};
      c->f.tasks.emplace(msg_id, task);
    }
    st = js_PublishMsgAsync(c->js, &result, nullptr);
  }
  if (st == NATS_OK)
    return;
  // The task stays unacked: its result is missing, and latency_bench says so.
  std::lock_guard guard{c->f.mtx};
  if (c->f.first_error.empty())
    c->f.first_error = std::string{"publish result: "} + natsStatus_GetText(st);
  c->f.failed.fetch_add(1, std::memory_order_relaxed);
}

} // namespace raw

using raw::add_streams;
using raw::echo_result;
using raw::in_flight;
using raw::js_client;
using raw::on_floor_task;
using raw::on_result_ack;
using raw::publish_options;
using raw::publish_tasks;
using raw::pull_subscribe;

struct latency_floor::state {
  raw::floor_context ctx;
  std::unique_ptr<raw::js_client> client;
  natsSubscription* sub = nullptr;
};

latency_floor::latency_floor(const std::string& url) : state_(std::make_unique<state>()) {
  auto jo = publish_options();
  jo.PublishAsync.AckHandler = &on_result_ack;
  jo.PublishAsync.AckHandlerClosure = &state_->ctx.f;
  jo.PublishAsync.StallWait = 5000;
  state_->client = std::make_unique<js_client>(url, jo);
  auto* js = state_->client->js();
  state_->ctx.js = js;
  add_streams(js, "BLAT_TASKS", "blat.task.>", "BLAT_RESULTS", "blat.result.>");
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = "BLAT_TASKS";
  so.Config.Durable = "floor";
  so.Config.AckPolicy = js_AckExplicit;
  so.Config.MaxAckPending = 100'000;
  so.ManualAck = true; // nats.c would ack when the callback returns, before the result is stored
  check(js_Subscribe(&state_->sub, js, "blat.task.>", &on_floor_task, &state_->ctx, nullptr, &so,
                     nullptr),
        "floor: push subscribe");
  check(natsSubscription_SetPendingLimits(state_->sub, -1, -1), "floor: pending limits");
}

latency_floor::~latency_floor() {
  // No task callback runs once the drain completed; then the last PubAcks are awaited.
  if (natsSubscription_Drain(state_->sub) == NATS_OK)
    (void)natsSubscription_WaitForDrainCompletion(state_->sub, 5000);
  natsSubscription_Destroy(state_->sub);
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 5000;
  (void)js_PublishAsyncComplete(state_->client->js(), &po);
  state_->client.reset();
  std::lock_guard guard{state_->ctx.f.mtx};
  for (auto& [id, task] : state_->ctx.f.tasks)
    natsMsg_Destroy(task);
}

void latency_floor::check_healthy() const {
  auto& f = state_->ctx.f;
  if (f.failed.load() == 0)
    return;
  std::lock_guard guard{f.mtx};
  die("latency floor: " + std::to_string(f.failed.load())
      + " tasks without a stored result (first error: " + f.first_error + ")");
}

double run_raw_pipeline(const std::string& url, int n, int batch, int round) {
  js_client c{url, publish_options()};
  add_streams(c.js(), "BRAW_TASKS", "braw.task.>", "BRAW_RESULTS", "braw.result.>");
  auto sub = pull_subscribe(c.js(), "braw.task.x", "raw");

  std::string prefix = "r" + std::to_string(round) + "-";
  auto start = clock_type::now();
  publish_tasks(c.js(), "braw.task.x", prefix, n);
  if (std::getenv("BENCH_PHASES"))
    std::printf("  raw publish phase %.0f/s\n", n / seconds_since(start));
  std::string result(64, 'r');
  int done = 0;
  while (done < n) {
    natsMsgList list{nullptr, 0};
    auto st = natsSubscription_Fetch(&list, sub.get(), batch, 5000, nullptr);
    if (st == NATS_TIMEOUT)
      continue;
    check(st, "fetch");
    for (int i = 0; i < list.Count; ++i) {
      auto subj = "braw.result." + prefix + std::to_string(done + i);
      check(js_PublishAsync(c.js(), subj.c_str(), result.data(), static_cast<int>(result.size()),
                            nullptr),
            "publish result");
      check(natsMsg_Ack(list.Msgs[i], nullptr), "ack");
    }
    done += list.Count;
    natsMsgList_Destroy(&list);
  }
  check(js_PublishAsyncComplete(c.js(), nullptr), "result publish complete");
  return n / seconds_since(start);
}

double run_careful_worker(const std::string& url, int n, int round, const careful_work& work) {
  js_client client{url, publish_options()};
  work.declare(client.js());
  // The worker has its own connection, as a worker process would.
  in_flight f;
  auto wo = publish_options();
  wo.PublishAsync.AckHandler = &on_result_ack;
  wo.PublishAsync.AckHandlerClosure = &f;
  // A full window of results waits for PubAcks instead of failing after the 200 ms default.
  wo.PublishAsync.StallWait = 5000;
  js_client worker{url, wo};
  auto sub =
    pull_subscribe(worker.js(), work.filter.c_str(), work.durable.c_str(), work.consumer_declared);

  std::string prefix = "l" + std::to_string(round) + "-";
  auto start = clock_type::now();
  work.publish(client.js(), prefix, n);
  int fetched = 0;
  int idle = 0; // fetches in a row that found nothing
  while (fetched < n) {
    natsMsgList list{nullptr, 0};
    auto st = natsSubscription_Fetch(&list, sub.get(), 256, 5000, nullptr);
    if (st == NATS_TIMEOUT && ++idle < 6)
      continue;
    if (st == NATS_TIMEOUT)
      die("like-for-like: no task from " + work.tasks_stream + "/" + work.durable + " for 30 s, "
          + std::to_string(fetched) + " of " + std::to_string(n) + " fetched");
    idle = 0;
    check(st, "fetch");
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* task = list.Msgs[i];
      list.Msgs[i] = nullptr; // the PubAck handler destroys it once acked
      natsMsg* result = work.result_for(task);
      const char* id = nullptr;
      check(natsMsgHeader_Get(result, "Nats-Msg-Id", &id), "result id");
      {
        std::lock_guard guard{f.mtx};
        f.tasks.emplace(id, task);
      }
      check(js_PublishMsgAsync(worker.js(), &result, nullptr), "publish result");
    }
    fetched += list.Count;
    natsMsgList_Destroy(&list);
  }
  // Handlers run before the pending count drops, so every task has its ack once this returns.
  check(js_PublishAsyncComplete(worker.js(), nullptr), "result publish complete");
  double secs = seconds_since(start);
  if (f.failed > 0 || f.acked != n)
    die("like-for-like: " + std::to_string(f.failed.load()) + " of " + std::to_string(n)
        + " tasks not acked after their result (first error: " + f.first_error + ")");
  // Outside the clock: every ack reached the server, so the loop did the work it claims.
  auto drained = clock_type::now() + std::chrono::seconds{10};
  for (;;) {
    jsConsumerInfo* ci = nullptr;
    check(js_GetConsumerInfo(&ci, worker.js(), work.tasks_stream.c_str(), work.durable.c_str(),
                             nullptr, nullptr),
          "consumer info");
    bool done = ci->NumAckPending == 0 && ci->NumPending == 0;
    jsConsumerInfo_Destroy(ci);
    if (done)
      break;
    if (clock_type::now() > drained)
      die("like-for-like: " + work.tasks_stream + "/" + work.durable
          + " still has unacked tasks 10 s after the run");
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return n / secs;
}

double run_like_for_like_plain(const std::string& url, int n, int round) {
  careful_work work;
  work.tasks_stream = "BLFL_TASKS";
  work.filter = "blfl.task.x";
  work.durable = "lfl";
  work.declare = [](jsCtx* js) {
    add_streams(js, "BLFL_TASKS", "blfl.task.>", "BLFL_RESULTS", "blfl.result.>");
  };
  work.publish = [](jsCtx* js, const std::string& prefix, int count) {
    publish_tasks(js, "blfl.task.x", prefix, count);
  };
  work.result_for = [](natsMsg* task) {
    const char* id = nullptr;
    check(natsMsgHeader_Get(task, "Nats-Msg-Id", &id), "task id");
    natsMsg* result = nullptr;
    check(echo_result(&result, task, std::string{"blfl.result."} + id, id), "result");
    return result;
  };
  return run_careful_worker(url, n, round, work);
}

} // namespace smith::bench
