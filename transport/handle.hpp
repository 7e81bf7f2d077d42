// RAII holders for nats.c handles: one deleter template, one alias per handle type.
#pragma once

#include <nats/nats.h>

#include <memory>

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

} // namespace smith::transport
