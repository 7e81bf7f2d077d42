#include "transport/pull_consumer.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"
#include "transport/log.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace smith::transport {

using std::chrono::steady_clock;

namespace {

std::string_view status_of(natsMsg* m, std::string_view& description) {
  const char* status = nullptr;
  if (natsMsgHeader_Get(m, "Status", &status) != NATS_OK || status == nullptr)
    return {};
  const char* desc = nullptr;
  if (natsMsgHeader_Get(m, "Description", &desc) == NATS_OK && desc != nullptr)
    description = desc;
  return status;
}

} // namespace

expected<consumer_state> consumer_info(const connection& conn, const std::string& stream,
                                       const std::string& durable) {
  jsConsumerInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st =
    js_GetConsumerInfo(&raw, conn.jetstream(), stream.c_str(), durable.c_str(), nullptr, &jerr);
  consumer_info_handle ci{raw};
  if (st != NATS_OK)
    return from_nats(st, "consumer info " + stream + "/" + durable, jerr);
  consumer_state s;
  s.num_pending = ci->NumPending;
  s.num_ack_pending = ci->NumAckPending;
  s.num_redelivered = ci->NumRedelivered;
  s.num_waiting = ci->NumWaiting;
  s.delivered_stream_seq = ci->Delivered.Stream;
  s.ack_floor_stream_seq = ci->AckFloor.Stream;
  if (ci->Config != nullptr) {
    s.ack_wait = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::nanoseconds{ci->Config->AckWait});
    s.max_deliver = ci->Config->MaxDeliver;
  }
  return s;
}

pull_consumer::pull_consumer(std::shared_ptr<connection> conn, std::string stream,
                             std::string durable)
  : conn_(std::move(conn)), stream_(std::move(stream)), durable_(std::move(durable)) {
  next_subject_ = "$JS.API.CONSUMER.MSG.NEXT." + stream_ + "." + durable_;
}

expected<std::unique_ptr<pull_consumer>>
pull_consumer::bind(std::shared_ptr<connection> conn, std::string stream, std::string durable) {
  if (auto ci = consumer_info(*conn, stream, durable); !ci) {
    if (ci.error().code() == errc::not_found)
      return error{errc::not_found, "consumer " + durable + " on stream " + stream
                                      + " does not exist. Hint: apply the topology first "
                                        "(smith topology apply) with this role in SMITH_ROLES"};
    return ci.error();
  }
  std::unique_ptr<pull_consumer> self{
    new pull_consumer(std::move(conn), std::move(stream), std::move(durable))};
  natsInbox* inbox = nullptr;
  if (auto st = natsInbox_Create(&inbox); st != NATS_OK)
    return from_nats(st, "create inbox");
  inbox_handle hold{inbox};
  self->inbox_ = inbox;
  natsSubscription* sub = nullptr;
  auto wildcard = self->inbox_ + ".*";
  if (auto st = natsConnection_SubscribeSync(&sub, self->conn_->native(), wildcard.c_str());
      st != NATS_OK)
    return from_nats(st, "subscribe to " + wildcard);
  self->sub_.reset(sub);
  // Deliveries are bounded by our own credit; lift nats.c's per-subscription caps so a large
  // batch of large messages is never dropped as a slow consumer.
  natsSubscription_SetPendingLimits(sub, -1, -1);
  auto* epoch = &self->link_epoch_;
  self->listener_ = self->conn_->add_listener([epoch](const connection_event& ev) {
    if (ev.kind == connection_event_kind::reconnected
        || ev.kind == connection_event_kind::disconnected)
      epoch->fetch_add(1);
  });
  return self;
}

pull_consumer::~pull_consumer() {
  conn_->remove_listener(listener_);
  if (sub_)
    natsSubscription_Unsubscribe(sub_.get());
}

std::uint64_t pull_consumer::credit() const {
  std::uint64_t sum = 0;
  for (const auto& r : requests_)
    sum += r.remaining;
  return sum;
}

std::uint64_t pull_consumer::outstanding() const {
  return credit();
}

std::size_t pull_consumer::buffered() const {
  int msgs = 0;
  if (natsSubscription_GetPending(sub_.get(), &msgs, nullptr) != NATS_OK)
    return 0;
  return static_cast<std::size_t>(msgs);
}

void pull_consumer::forget_expired_requests() {
  if (auto epoch = link_epoch_.load(); epoch != seen_epoch_) {
    seen_epoch_ = epoch;
    requests_.clear();
  }
  auto now = steady_clock::now();
  std::erase_if(requests_, [now](const request& r) { return r.expires_at <= now; });
}

expected<void> pull_consumer::send_request(std::uint64_t batch, std::chrono::milliseconds expiry) {
  auto id = next_id_++;
  auto reply = inbox_ + "." + std::to_string(id);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(expiry).count();
  auto body = "{\"batch\":" + std::to_string(batch) + ",\"expires\":" + std::to_string(ns) + "}";
  auto st = natsConnection_PublishRequest(conn_->native(), next_subject_.c_str(), reply.c_str(),
                                          body.data(), static_cast<int>(body.size()));
  if (st != NATS_OK)
    return from_nats(st, "pull request on " + stream_ + "/" + durable_);
  requests_.push_back({id, batch, steady_clock::now() + expiry});
  // Deliveries wait for this request: never for a coalesced write.
  conn_->flush_soon();
  return {};
}

expected<void> pull_consumer::handle(natsMsg* raw, std::vector<message>& out) {
  msg_handle m{raw};
  // A delivery always carries its $JS.ACK reply subject and a status never does: test that
  // first, so the common case never makes nats.c parse the headers.
  const char* reply = natsMsg_GetReply(raw);
  if (auto info = reply != nullptr ? parse_ack_subject(reply) : std::nullopt) {
    // The server serves waiting requests in order: a delivery uses up the oldest one's credit.
    if (!requests_.empty() && --requests_.front().remaining == 0)
      requests_.pop_front();
    out.emplace_back(std::move(m), conn_, *info);
    return {};
  }
  std::string_view description;
  auto status = status_of(raw, description);
  if (status.empty()) {
    SMITH_LOG(log(), warn, "pull: dropped a message without a JetStream reply subject",
              {"stream", stream_}, {"consumer", durable_}, {"subject", natsMsg_GetSubject(raw)});
    return {};
  }
  if (status == "100")
    return {}; // idle heartbeat
  // A status ends the request whose reply subject it came to: <inbox>.<id>.
  std::string_view subj = natsMsg_GetSubject(raw);
  std::uint64_t id = 0;
  if (auto dot = subj.rfind('.'); dot != std::string_view::npos) {
    auto tail = subj.substr(dot + 1);
    std::from_chars(tail.data(), tail.data() + tail.size(), id);
  }
  std::erase_if(requests_, [id](const request& r) { return r.id == id; });
  if (status == "404" || status == "408")
    return {}; // no messages / request expired
  std::string what = "pull on " + stream_ + "/" + durable_ + ": " + std::string{status} + " "
                     + std::string{description};
  if (status == "409") {
    if (description.find("Consumer Deleted") != std::string_view::npos)
      return error{errc::not_found, what};
    if (description.find("MaxRequestBatch") != std::string_view::npos
        || description.find("MaxRequestExpires") != std::string_view::npos)
      return error{errc::invalid_argument, what};
    // Exceeded MaxWaiting, Leadership Change, ...: the request is gone, another may pass.
    return error{errc::unavailable, what};
  }
  SMITH_LOG(log(), warn, "pull: unexpected status", {"stream", stream_}, {"consumer", durable_},
            {"status", status}, {"description", description});
  return {};
}

expected<void> pull_consumer::take_buffered(std::vector<message>& out, std::size_t max) {
  while (out.size() < max) {
    natsMsg* raw = nullptr;
    auto st = natsSubscription_NextMsg(&raw, sub_.get(), 0);
    if (st == NATS_TIMEOUT)
      return {};
    if (st != NATS_OK)
      return from_nats(st, "pull on " + stream_ + "/" + durable_);
    if (auto ok = handle(raw, out); !ok)
      return ok;
  }
  return {};
}

namespace {

// Messages already in hand are never dropped for an error that came after them: they go out,
// and the error (logged here) shows again on the next call if it persists.
expected<std::vector<message>> finish(std::vector<message>& out, const error& err) {
  if (out.empty())
    return err;
  SMITH_LOG(log(), warn, "pull failed after messages arrived; they are handed out",
            {"error_type", to_string(err.code())}, {"error", err.message()});
  return std::move(out);
}

} // namespace

expected<std::vector<message>> pull_consumer::fetch(std::size_t max_messages,
                                                    std::chrono::milliseconds expiry) {
  std::vector<message> out;
  if (max_messages == 0)
    return out;
  // Most calls return a handful: reserving the whole batch would cost more than growing.
  out.reserve(std::min<std::size_t>(max_messages, 16));
  auto deadline = steady_clock::now() + expiry;
  forget_expired_requests();
  if (auto ok = take_buffered(out, max_messages); !ok)
    return finish(out, ok.error());
  while (out.empty()) {
    auto now = steady_clock::now();
    if (now >= deadline)
      break;
    forget_expired_requests();
    // Top the credit up to what the caller can take, in one request when it is worth it: many
    // tiny requests cost the server more than they save.
    auto have = credit();
    if (have < max_messages && (have == 0 || max_messages - have >= (max_messages + 1) / 2)) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      if (auto ok = send_request(max_messages - have, left); !ok)
        return finish(out, ok.error());
    }
    // Wake when the oldest request runs out at the server too, to top the credit up again:
    // whether a 408 for it ever comes does not matter.
    natsMsg* raw = nullptr;
    auto st = natsSubscription_NextMsg(&raw, sub_.get(), wait_ms(deadline));
    if (st == NATS_TIMEOUT)
      continue;
    if (st != NATS_OK) {
      requests_.clear();
      return from_nats(st, "pull on " + stream_ + "/" + durable_);
    }
    if (auto ok = handle(raw, out); !ok)
      return finish(out, ok.error());
    if (auto ok = take_buffered(out, max_messages); !ok)
      return finish(out, ok.error());
  }
  return out;
}

std::int64_t pull_consumer::wait_ms(steady_clock::time_point deadline) const {
  auto until = deadline;
  for (const auto& r : requests_)
    until = std::min(until, r.expires_at);
  return std::max<std::int64_t>(
    1, std::chrono::ceil<std::chrono::milliseconds>(until - steady_clock::now()).count());
}

std::vector<message> pull_consumer::drain(std::chrono::milliseconds max_wait) {
  std::vector<message> out;
  auto deadline = steady_clock::now() + max_wait;
  constexpr auto all = std::numeric_limits<std::size_t>::max();
  (void)take_buffered(out, all); // an error here ends nothing: what is in hand goes back
  for (;;) {
    forget_expired_requests();
    if (requests_.empty() || steady_clock::now() >= deadline)
      break;
    natsMsg* raw = nullptr;
    auto st = natsSubscription_NextMsg(&raw, sub_.get(), wait_ms(deadline));
    if (st == NATS_TIMEOUT)
      continue;
    if (st != NATS_OK)
      break;
    (void)handle(raw, out);
    (void)take_buffered(out, all);
  }
  return out;
}

expected<consumer_state> pull_consumer::info() const {
  return consumer_info(*conn_, stream_, durable_);
}

} // namespace smith::transport
