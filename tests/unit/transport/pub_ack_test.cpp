#include "transport/handle.hpp"
#include "transport/pub_ack.hpp"

#include <nats/nats.h>

#include <doctest/doctest.h>

#include <string>

namespace tp = smith::transport;

namespace {

// A reply as nats.c hands it over: `body` as its data, and a Status header when given.
tp::msg_handle reply(const std::string& body, const char* status = nullptr) {
  natsMsg* m = nullptr;
  REQUIRE(natsMsg_Create(&m, "_INBOX.x.7", nullptr, body.data(), static_cast<int>(body.size()))
          == NATS_OK);
  tp::msg_handle held{m};
  if (status != nullptr)
    REQUIRE(natsMsgHeader_Set(m, "Status", status) == NATS_OK);
  return held;
}

tp::expected<tp::publish_ack> read(const std::string& body, const char* status = nullptr) {
  return tp::read_pub_ack(reply(body, status).get(), "smith.task.r.t.1");
}

} // namespace

TEST_CASE("a PubAck names its stream and sequence, and says duplicate for a repeated id") {
  auto stored = read(R"({"stream":"SMITH_TASKS","seq":42})");
  REQUIRE(stored.has_value());
  CHECK(stored->stream == "SMITH_TASKS");
  CHECK(stored->sequence == 42);
  CHECK_FALSE(stored->duplicate);
  auto again = read(R"({"stream":"SMITH_TASKS", "domain":"hub", "seq":42, "duplicate":true})");
  REQUIRE(again.has_value());
  CHECK(again->duplicate);
  CHECK(again->sequence == 42);
  // Fields of nested objects are not the ack's own.
  auto nested = read(R"({"x":{"seq":1,"duplicate":true},"stream":"S","seq":9})");
  REQUIRE(nested.has_value());
  CHECK(nested->sequence == 9);
  CHECK_FALSE(nested->duplicate);
}

TEST_CASE("the server's refusal keeps its code and description") {
  auto big = read(R"({"error":{"code":400,"err_code":10054,"description":"message size exceeds )"
                  R"(maximum allowed"},"stream":"SMITH_TASKS","seq":0})");
  REQUIRE_FALSE(big.has_value());
  CHECK(big.error().code() == tp::errc::too_large);
  CHECK(big.error().js_code() == 10054);
  CHECK(big.error().message().find("smith.task.r.t.1") != std::string::npos);
  CHECK(big.error().message().find("message size exceeds maximum allowed") != std::string::npos);
  auto unavailable = read(
    R"({"error":{"code":503,"err_code":10008,"description":"JetStream cluster not available"}})");
  REQUIRE_FALSE(unavailable.has_value());
  CHECK(unavailable.error().code() == tp::errc::unavailable);
  CHECK(unavailable.error().retryable());
}

TEST_CASE("no stream on the subject is no_responders; anything unreadable is an error") {
  auto none = read("", "503");
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code() == tp::errc::no_responders);
  for (const char* bad : {"", "{", "not json", "[1,2]", R"({"stream":"S"})", R"({"seq":"7"})",
                          "{\"stream\":\"S\",\"seq\":1}\xff", R"({"seq":-1})"}) {
    auto r = read(bad);
    CHECK_MESSAGE(!r.has_value(), bad);
  }
}
