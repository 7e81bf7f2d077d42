// RAII holders for nats.c handles: one deleter template, one alias per handle type.
#pragma once

#include <nats/nats.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace smith::transport {

template <class T, auto Destroy>
struct nats_deleter {
  void operator()(T* ptr) const noexcept {
    Destroy(ptr);
  }
};

template <class T, auto Destroy>
using nats_handle = std::unique_ptr<T, nats_deleter<T, Destroy>>;

using options_handle = nats_handle<natsOptions, natsOptions_Destroy>;
using connection_handle = nats_handle<natsConnection, natsConnection_Destroy>;
using subscription_handle = nats_handle<natsSubscription, natsSubscription_Destroy>;
using msg_handle = nats_handle<natsMsg, natsMsg_Destroy>;
using js_handle = nats_handle<jsCtx, jsCtx_Destroy>;
using stream_info_handle = nats_handle<jsStreamInfo, jsStreamInfo_Destroy>;
using consumer_info_handle = nats_handle<jsConsumerInfo, jsConsumerInfo_Destroy>;
using pub_ack_handle = nats_handle<jsPubAck, jsPubAck_Destroy>;
using inbox_handle = nats_handle<natsInbox, natsInbox_Destroy>;

/// Holds what owns nats.c messages and lets them go `batch` at a time. nats.c hands each message
/// it frees to its collector thread, wakes that thread whenever the collector's list was empty,
/// and takes the collector's lock for each one: messages freed one by one cost a thread wake-up
/// per task (a tenth of a busy worker's CPU, measured with perf). Freed 64 at a time, the
/// collector still woke about 0.75 times per task (signalled by a batch's first message, then
/// contending for its lock with the rest); 512 at a time, about 0.17, and the worker's context
/// switches fell from 1.8 to 0.7-0.9 per task (worker_bench, 100,000 tasks).
template <class Handle>
class batched_release {
public:
  explicit batched_release(std::size_t batch = 512) : batch_(batch) {
    held_.reserve(batch);
  }

  void add(Handle h) {
    held_.push_back(std::move(h));
    if (held_.size() >= batch_)
      held_.clear();
  }

  /// Lets go of everything held now.
  void release() noexcept {
    held_.clear();
  }

private:
  std::size_t batch_;
  std::vector<Handle> held_;
};

} // namespace smith::transport
