#include "transport/message.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"

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

message::message(msg_handle msg, std::shared_ptr<connection> conn, delivery_info info)
  : msg_(std::move(msg)), conn_(std::move(conn)), info_(info) {
}

message::message(message&& other) noexcept
  : msg_(std::move(other.msg_)), conn_(std::move(other.conn_)), info_(other.info_),
    done_(other.done_.load()) {
}

message& message::operator=(message&& other) noexcept {
  msg_ = std::move(other.msg_);
  conn_ = std::move(other.conn_);
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
  const char* reply = natsMsg_GetReply(msg_.get());
  natsStatus st;
  if (confirm_to.empty()) {
    st = natsConnection_Publish(conn_->native(), reply, body.data(), static_cast<int>(body.size()));
  } else {
    std::string confirm{confirm_to}; // nats.c wants it NUL-terminated
    st = natsConnection_PublishRequest(conn_->native(), reply, confirm.c_str(), body.data(),
                                       static_cast<int>(body.size()));
  }
  if (st != NATS_OK) {
    if (final)
      done_ = false;
    return from_nats(st, std::string{verb} + " stream sequence "
                           + std::to_string(info_.stream_sequence));
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
  natsMsg* resp = nullptr;
  auto st = natsConnection_RequestString(&resp, conn_->native(), natsMsg_GetReply(msg_.get()),
                                         "+ACK", timeout.count());
  msg_handle hold{resp};
  if (st != NATS_OK) {
    done_ = false;
    return from_nats(st, "ack_sync stream sequence " + std::to_string(info_.stream_sequence));
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
