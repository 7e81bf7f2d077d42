#include "transport/stream_reader.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"
#include "transport/handle.hpp"

#include <charconv>
#include <cstring>
#include <ctime>
#include <strings.h>

namespace smith::transport {

namespace {

// JSNoMessageFoundErr: the API's answer for a sequence or subject with no message.
constexpr int js_no_message_found = 10037;
// JSStreamMsgDeleteFailedF: a delete the server could not do (also: no such message).
constexpr int js_delete_failed = 10057;
// JSSequenceNotFoundErrF: "sequence N not found", a delete of a sequence the stream no longer
// holds (seen once it is empty).
constexpr int js_sequence_not_found = 10043;

std::uint64_t header_number(natsMsg* m, const char* key) {
  const char* v = nullptr;
  std::uint64_t n = 0;
  if (natsMsgHeader_Get(m, key, &v) == NATS_OK && v != nullptr)
    std::from_chars(v, v + std::strlen(v), n);
  return n;
}

// Direct get answers carry the stored subject, sequence and time as headers; the API get
// fills them into the message itself.
stored_message convert(natsMsg* m, bool direct) {
  stored_message out;
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(m, &keys, &count) == NATS_OK) {
    for (int i = 0; i < count; ++i) {
      const char** values = nullptr;
      int n = 0;
      if (natsMsgHeader_Values(m, keys[i], &values, &n) == NATS_OK) {
        for (int j = 0; j < n; ++j)
          out.headers.emplace_back(keys[i], values[j]);
        std::free(static_cast<void*>(values));
      }
    }
    std::free(static_cast<void*>(keys));
  }
  out.data.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
  if (direct) {
    const char* subj = nullptr;
    if (natsMsgHeader_Get(m, "Nats-Subject", &subj) == NATS_OK && subj != nullptr)
      out.subject = subj;
    out.sequence = header_number(m, "Nats-Sequence");
    // The stored time is RFC 3339; the sequence is what callers key on, and the time comes
    // from the body's own fields where it matters. Parse the seconds part for an age.
    const char* ts = nullptr;
    if (natsMsgHeader_Get(m, "Nats-Time-Stamp", &ts) == NATS_OK && ts != nullptr) {
      struct tm tmv {};
      if (strptime(ts, "%Y-%m-%dT%H:%M:%S", &tmv) != nullptr)
        out.time_ms = static_cast<std::int64_t>(timegm(&tmv)) * 1000;
    }
  } else {
    out.subject = natsMsg_GetSubject(m);
    out.sequence = natsMsg_GetSequence(m);
    out.time_ms = natsMsg_GetTime(m) / 1'000'000;
  }
  return out;
}

expected<std::optional<stored_message>> direct_get(const connection& conn,
                                                   const std::string& stream,
                                                   jsDirectGetMsgOptions& opts,
                                                   const std::string& what) {
  natsMsg* raw = nullptr;
  auto st = js_DirectGetMsg(&raw, conn.jetstream(), stream.c_str(), nullptr, &opts);
  msg_handle hold{raw};
  if (st == NATS_NOT_FOUND)
    return std::optional<stored_message>{};
  if (st != NATS_OK)
    return from_nats(st, what);
  return std::optional<stored_message>{convert(raw, true)};
}

} // namespace

std::optional<std::string_view> stored_message::header(std::string_view key) const {
  for (const auto& [k, v] : headers)
    if (k.size() == key.size() && strncasecmp(k.data(), key.data(), k.size()) == 0)
      return std::string_view{v};
  return std::nullopt;
}

expected<stream_state> stream_info(const connection& conn, const std::string& stream) {
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st = js_GetStreamInfo(&raw, conn.jetstream(), stream.c_str(), nullptr, &jerr);
  stream_info_handle hold{raw};
  if (st != NATS_OK)
    return from_nats(st, "stream info " + stream, jerr);
  stream_state out;
  out.messages = raw->State.Msgs;
  out.first_seq = raw->State.FirstSeq;
  out.last_seq = raw->State.LastSeq;
  out.consumers = raw->State.Consumers;
  return out;
}

expected<std::optional<stored_message>>
last_message(const connection& conn, const std::string& stream, const std::string& subject) {
  if (subject.find_first_of("*>") == std::string::npos) {
    // The subject goes in the API subject ($JS.API.DIRECT.GET.<stream>.<subject>), not in a
    // JSON body: a NATS user can then be allowed to read only some subjects (a worker its own
    // role's results).
    auto api = "$JS.API.DIRECT.GET." + stream + "." + subject;
    auto what = "last message of " + subject + " in " + stream;
    natsMsg* raw = nullptr;
    auto st = natsConnection_Request(&raw, conn.native(), api.c_str(), nullptr, 0,
                                     conn.config().request_timeout.count());
    msg_handle hold{raw};
    if (st != NATS_OK)
      return from_nats(st, what);
    const char* status = nullptr;
    if (natsMsgHeader_Get(raw, "Status", &status) == NATS_OK && status != nullptr) {
      if (std::string_view{status} == "404")
        return std::optional<stored_message>{};
      const char* desc = nullptr;
      natsMsgHeader_Get(raw, "Description", &desc);
      return error{std::string_view{status} == "408" ? errc::timeout : errc::internal,
                   what + ": status " + status + " " + (desc != nullptr ? desc : "")};
    }
    return std::optional<stored_message>{convert(raw, true)};
  }
  jsDirectGetMsgOptions opts;
  jsDirectGetMsgOptions_Init(&opts);
  opts.LastBySubject = subject.c_str();
  return direct_get(conn, stream, opts, "last message of " + subject + " in " + stream);
}

expected<std::optional<stored_message>> next_message(const connection& conn,
                                                     const std::string& stream, std::uint64_t from,
                                                     const std::string& filter) {
  jsDirectGetMsgOptions opts;
  jsDirectGetMsgOptions_Init(&opts);
  opts.Sequence = from;
  opts.NextBySubject = filter.c_str();
  return direct_get(conn, stream, opts,
                    "next message of " + filter + " in " + stream + " from "
                      + std::to_string(from));
}

expected<std::optional<stored_message>> message_at(const connection& conn,
                                                   const std::string& stream, std::uint64_t seq) {
  natsMsg* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st = js_GetMsg(&raw, conn.jetstream(), stream.c_str(), seq, nullptr, &jerr);
  msg_handle hold{raw};
  if (st == NATS_NOT_FOUND || jerr == js_no_message_found)
    return std::optional<stored_message>{};
  if (st != NATS_OK)
    return from_nats(st, "message " + std::to_string(seq) + " of " + stream, jerr);
  return std::optional<stored_message>{convert(raw, false)};
}

expected<bool> delete_message(const connection& conn, const std::string& stream,
                              std::uint64_t seq) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st = js_DeleteMsg(conn.jetstream(), stream.c_str(), seq, nullptr, &jerr);
  if (st == NATS_NOT_FOUND || jerr == js_no_message_found || jerr == js_sequence_not_found)
    return false;
  // The server reports a missing message as a failed delete (10057) with the reason in text;
  // a second look tells "already gone" from a real failure.
  if (st != NATS_OK && jerr == js_delete_failed) {
    auto there = message_at(conn, stream, seq);
    if (there && !*there)
      return false;
  }
  if (st != NATS_OK)
    return from_nats(st, "delete message " + std::to_string(seq) + " of " + stream, jerr);
  return true;
}

expected<void> purge_subject(const connection& conn, const std::string& stream,
                             const std::string& subject) {
  jsOptions opts;
  jsOptions_Init(&opts);
  opts.Stream.Purge.Subject = subject.c_str();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st = js_PurgeStream(conn.jetstream(), stream.c_str(), &opts, &jerr);
  if (st != NATS_OK)
    return from_nats(st, "purge " + subject + " from " + stream, jerr);
  return {};
}

} // namespace smith::transport
