// A JetStream publish ack, read without building a JSON document: the publisher's asynchronous
// side reads one per message it stores.
#pragma once

#include "transport/expected.hpp"
#include "transport/publisher.hpp"

#include <nats/nats.h>

#include <string>

namespace smith::transport {

/// The outcome the reply `reply` reports for the message published to `subject`: a PubAck
/// ({"stream":"S","seq":N}, with "duplicate":true for a repeated Nats-Msg-Id), the server's
/// error ({"error":{"code":C,"err_code":E,"description":"D"}}), or a status in its place (503:
/// no stream listens on the subject).
expected<publish_ack> read_pub_ack(natsMsg* reply, const std::string& subject);

} // namespace smith::transport
