#include "transport/error.hpp"
#include "transport/message.hpp"
#include "transport/nats_error.hpp"

#include <nats/nats.h>

#include <doctest/doctest.h>

namespace tp = smith::transport;

TEST_CASE("transient transport states are retryable, refusals are not") {
  auto code = [](natsStatus st, int js = 0) { return tp::from_nats(st, "op", js).code(); };
  CHECK(code(NATS_TIMEOUT) == tp::errc::timeout);
  CHECK(code(NATS_CONNECTION_DISCONNECTED) == tp::errc::disconnected);
  CHECK(code(NATS_NO_SERVER) == tp::errc::disconnected);
  CHECK(code(NATS_CONNECTION_CLOSED) == tp::errc::closed);
  CHECK(code(NATS_NOT_PERMITTED) == tp::errc::not_permitted);
  CHECK(code(NATS_MAX_PAYLOAD) == tp::errc::too_large);
  CHECK(code(NATS_SSL_ERROR) == tp::errc::tls);
  CHECK(code(NATS_ERR, JSClusterNotAvailErr) == tp::errc::unavailable);
  CHECK(code(NATS_ERR, JSStreamNotFoundErr) == tp::errc::not_found);
  CHECK(code(NATS_ERR, JSStreamMessageExceedsMaximumErr) == tp::errc::too_large);
  // nats.c calls "no responders" on a JetStream API "not enabled" (10076); during a leader
  // election it passes, so the status wins.
  CHECK(code(NATS_NO_RESPONDERS, JSNotEnabledErr) == tp::errc::no_responders);
  for (auto c : {tp::errc::disconnected, tp::errc::timeout, tp::errc::no_responders,
                 tp::errc::backpressure, tp::errc::unavailable})
    CHECK_MESSAGE(tp::is_retryable(c), tp::to_string(c));
  for (auto c : {tp::errc::closed, tp::errc::not_permitted, tp::errc::not_found, tp::errc::conflict,
                 tp::errc::invalid_argument, tp::errc::too_large, tp::errc::malformed,
                 tp::errc::already_acked, tp::errc::tls, tp::errc::internal})
    CHECK_FALSE_MESSAGE(tp::is_retryable(c), tp::to_string(c));
}

TEST_CASE("an error names the operation and keeps the native codes") {
  auto err = tp::from_nats(NATS_ERR, "create stream SMITH_TASKS", JSStreamNameExistErr);
  CHECK(err.code() == tp::errc::conflict);
  CHECK(err.message().find("create stream SMITH_TASKS") == 0);
  CHECK(err.js_code() == JSStreamNameExistErr);
  CHECK(err.nats_status() == NATS_ERR);
  CHECK(err.to_string().find("conflict: ") == 0);
}

TEST_CASE("a v1 ack subject gives the delivery count and sequences") {
  auto info =
    tp::parse_ack_subject("$JS.ACK.SMITH_TASKS.role-compile.3.1042.77.1700000000000000000.5");
  REQUIRE(info.has_value());
  CHECK(info->stream == "SMITH_TASKS");
  CHECK(info->consumer == "role-compile");
  CHECK(info->delivery_count == 3);
  CHECK(info->stream_sequence == 1042);
  CHECK(info->consumer_sequence == 77);
  CHECK(info->timestamp_ns == 1700000000000000000);
  CHECK(info->pending == 5);
}

TEST_CASE("a v2 ack subject with domain and account hash parses too") {
  auto info = tp::parse_ack_subject(
    "$JS.ACK.hub.ACCHASH.SMITH_TASKS.role-x.1.9.9.1700000000000000000.0.r4nd0m");
  REQUIRE(info.has_value());
  CHECK(info->stream == "SMITH_TASKS");
  CHECK(info->consumer == "role-x");
  CHECK(info->stream_sequence == 9);
}

TEST_CASE("anything else is not an ack subject") {
  for (auto s : {"", "_INBOX.abc", "$JS.ACK.S.C.1.2.3.4", "$JS.ACK.S.C.x.2.3.4.5",
                 "$JS.ACK.S.C.1.2.3.4.5.6.7.8.9.10", "$JS.NAK.S.C.1.2.3.4.5"})
    CHECK_FALSE_MESSAGE(tp::parse_ack_subject(s).has_value(), s);
}
