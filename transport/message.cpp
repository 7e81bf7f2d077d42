#include "transport/message.hpp"

#include <array>
#include <charconv>
#include <string>

namespace smith::transport {

namespace {

template <class Int>
bool to_int(std::string_view s, Int& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

} // namespace

std::optional<delivery_info> parse_ack_subject(std::string_view reply) {
  constexpr std::size_t max_tokens = 12;
  std::array<std::string_view, max_tokens> tok;
  std::size_t n = 0;
  while (n < max_tokens) {
    auto pos = reply.find('.');
    tok[n++] = reply.substr(0, pos);
    if (pos == std::string_view::npos) {
      reply = {};
      break;
    }
    reply.remove_prefix(pos + 1);
  }
  if (!reply.empty() || n < 9 || tok[0] != "$JS" || tok[1] != "ACK")
    return std::nullopt;
  // v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>
  // v2: $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.
  //     <pending>[.<random>]
  std::size_t base;
  if (n == 9)
    base = 2;
  else if (n == 11 || n == 12)
    base = 4;
  else
    return std::nullopt;
  delivery_info info;
  info.stream = tok[base];
  info.consumer = tok[base + 1];
  if (!to_int(tok[base + 2], info.delivery_count) || !to_int(tok[base + 3], info.stream_sequence)
      || !to_int(tok[base + 4], info.consumer_sequence) || !to_int(tok[base + 5], info.timestamp_ns)
      || !to_int(tok[base + 6], info.pending))
    return std::nullopt;
  return info;
}

message::message(msg_handle msg, std::shared_ptr<ack_sink> acks, delivery_info info)
  : msg_(std::move(msg)), acks_(std::move(acks)), info_(info) {
}

message::message(message&& other) noexcept
  : msg_(std::move(other.msg_)), acks_(std::move(other.acks_)), info_(other.info_),
    done_(other.done_.load()) {
}

message& message::operator=(message&& other) noexcept {
  msg_ = std::move(other.msg_);
  acks_ = std::move(other.acks_);
  info_ = other.info_;
  done_ = other.done_.load();
  return *this;
}

message::~message() = default;

std::string_view message::subject() const {
  return natsMsg_GetSubject(msg_.get());
}

std::string_view message::data() const {
  return {natsMsg_GetData(msg_.get()), static_cast<std::size_t>(natsMsg_GetDataLength(msg_.get()))};
}

std::optional<std::string_view> message::header(const char* key) const {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg_.get(), key, &value) != NATS_OK || value == nullptr)
    return std::nullopt;
  return std::string_view{value};
}

expected<void> message::send(std::string_view body, bool final, const char* verb,
                             std::string_view confirm_to) {
  // A final verb is sent once: a second ack, nak or term through the same handle is a bug in
  // the caller, and the server would ignore it anyway.
  if (final ? done_.exchange(true) : done_.load())
    return error{errc::already_acked, std::string{verb} + " on stream sequence "
                                        + std::to_string(info_.stream_sequence)
                                        + ": the message was already acknowledged"};
  auto sent = acks_->send_ack(natsMsg_GetReply(msg_.get()), body, confirm_to);
  if (!sent) {
    if (final)
      done_ = false;
    return error{sent.error().code(),
                 std::string{verb} + " stream sequence " + std::to_string(info_.stream_sequence)
                   + ": " + sent.error().message(),
                 sent.error().nats_status()};
  }
  return {};
}

expected<void> message::ack() {
  return send("+ACK", true, "ack");
}

expected<void> message::ack(std::string_view confirm_to) {
  return send("+ACK", true, "ack", confirm_to);
}

expected<void> message::ack_sync(std::chrono::milliseconds timeout) {
  if (done_.exchange(true))
    return error{errc::already_acked, "ack_sync on stream sequence "
                                        + std::to_string(info_.stream_sequence)
                                        + ": the message was already acknowledged"};
  auto answered = acks_->request_ack(natsMsg_GetReply(msg_.get()), "+ACK", timeout);
  if (!answered) {
    done_ = false;
    return error{answered.error().code(),
                 "ack_sync stream sequence " + std::to_string(info_.stream_sequence) + ": "
                   + answered.error().message(),
                 answered.error().nats_status()};
  }
  return {};
}

expected<void> message::nak() {
  return send("-NAK", true, "nak");
}

expected<void> message::nak(std::chrono::milliseconds delay) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count();
  return send("-NAK {\"delay\":" + std::to_string(ns) + "}", true, "nak");
}

expected<void> message::term() {
  return send("+TERM", true, "term");
}

expected<void> message::term(std::string_view confirm_to) {
  return send("+TERM", true, "term", confirm_to);
}

expected<void> message::in_progress() {
  return send("+WPI", false, "in_progress");
}

} // namespace smith::transport
