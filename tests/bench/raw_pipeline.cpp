#include "raw_pipeline.hpp"

#include <nats/nats.h>

#include <cstdio>
#include <cstdlib>

namespace smith::bench {

using clock_type = std::chrono::steady_clock;

void die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(1);
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

namespace {

void check(natsStatus st, const char* what) {
  if (st != NATS_OK)
    die(std::string{what} + ": " + natsStatus_GetText(st) + " " + nats_GetLastError(nullptr));
}

} // namespace

double run_raw_pipeline(const std::string& url, int n, int batch, int round) {
  natsOptions* opts = nullptr;
  check(natsOptions_Create(&opts), "options");
  check(natsOptions_SetURL(opts, url.c_str()), "url");
  check(natsOptions_SetSendAsap(opts, true), "send asap");
  natsConnection* nc = nullptr;
  check(natsConnection_Connect(&nc, opts), "connect");
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = 4096;
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, &jo), "jetstream");

  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char* task_subjects[] = {"braw.task.>"};
  sc.Name = "BRAW_TASKS";
  sc.Subjects = task_subjects;
  sc.SubjectsLen = 1;
  sc.Retention = js_WorkQueuePolicy;
  sc.Storage = js_FileStorage;
  check(js_AddStream(nullptr, js, &sc, nullptr, nullptr), "add raw tasks stream");
  const char* result_subjects[] = {"braw.result.>"};
  sc.Name = "BRAW_RESULTS";
  sc.Subjects = result_subjects;
  sc.Retention = js_LimitsPolicy;
  check(js_AddStream(nullptr, js, &sc, nullptr, nullptr), "add raw results stream");
  check(js_PurgeStream(js, "BRAW_RESULTS", nullptr, nullptr), "purge");

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Config.AckPolicy = js_AckExplicit;
  so.Config.MaxAckPending = 100'000;
  natsSubscription* sub = nullptr;
  check(js_PullSubscribe(&sub, js, "braw.task.x", "raw", nullptr, &so, nullptr), "pull subscribe");

  std::string payload(256, 'p');
  std::string prefix = "r" + std::to_string(round) + "-";
  auto start = clock_type::now();
  jsPubOptions po;
  for (int i = 0; i < n; ++i) {
    jsPubOptions_Init(&po);
    auto id = prefix + std::to_string(i);
    po.MsgId = id.c_str();
    check(js_PublishAsync(js, "braw.task.x", payload.data(), static_cast<int>(payload.size()), &po),
          "publish async");
  }
  check(js_PublishAsyncComplete(js, nullptr), "publish complete");
  if (std::getenv("BENCH_PHASES"))
    std::printf("  raw publish phase %.0f/s\n", n / seconds_since(start));
  std::string result(64, 'r');
  int done = 0;
  while (done < n) {
    natsMsgList list{nullptr, 0};
    auto st = natsSubscription_Fetch(&list, sub, batch, 5000, nullptr);
    if (st == NATS_TIMEOUT)
      continue;
    check(st, "fetch");
    for (int i = 0; i < list.Count; ++i) {
      auto subj = "braw.result." + prefix + std::to_string(done + i);
      check(
        js_PublishAsync(js, subj.c_str(), result.data(), static_cast<int>(result.size()), nullptr),
        "publish result");
      check(natsMsg_Ack(list.Msgs[i], nullptr), "ack");
    }
    done += list.Count;
    natsMsgList_Destroy(&list);
  }
  check(js_PublishAsyncComplete(js, nullptr), "result publish complete");
  double secs = seconds_since(start);
  natsSubscription_Destroy(sub);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  return n / secs;
}

} // namespace smith::bench
