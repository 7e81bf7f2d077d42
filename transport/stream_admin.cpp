#include "transport/stream_admin.hpp"

#include "transport/connection.hpp"
#include "transport/handle.hpp"
#include "transport/nats_error.hpp"

#include <nlohmann/json.hpp>

namespace smith::transport {

namespace {

using names_handle = nats_handle<jsConsumerNamesList, jsConsumerNamesList_Destroy>;

} // namespace

expected<std::vector<std::string>> consumer_names(const connection& conn,
                                                  const std::string& stream) {
  jsConsumerNamesList* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st = js_ConsumerNames(&raw, conn.jetstream(), stream.c_str(), nullptr, &jerr);
  names_handle hold{raw};
  // A stream without consumers answers "not found" in nats.c 3.4.1: an empty list.
  if (st == NATS_NOT_FOUND)
    return std::vector<std::string>{};
  if (st != NATS_OK)
    return from_nats(st, "list the consumers of " + stream, jerr);
  std::vector<std::string> out;
  for (int i = 0; raw != nullptr && i < raw->Count; ++i)
    out.emplace_back(raw->List[i]);
  return out;
}

expected<std::uint64_t> purge_filter(const connection& conn, const std::string& stream,
                                     const std::string& filter) {
  // js_PurgeStream does not return the count; the API's answer does ({"purged": N}).
  auto api = "$JS.API.STREAM.PURGE." + stream;
  auto body = nlohmann::json{{"filter", filter}}.dump();
  auto what = "purge " + filter + " from " + stream;
  natsMsg* raw = nullptr;
  auto st =
    natsConnection_Request(&raw, conn.native(), api.c_str(), body.data(),
                           static_cast<int>(body.size()), conn.config().request_timeout.count());
  msg_handle hold{raw};
  if (st != NATS_OK)
    return from_nats(st, what);
  auto doc = nlohmann::json::parse(
    std::string_view{natsMsg_GetData(raw), static_cast<std::size_t>(natsMsg_GetDataLength(raw))},
    nullptr, false);
  if (!doc.is_object())
    return error{errc::internal, what + ": the server's answer is not JSON"};
  if (auto e = doc.find("error"); e != doc.end() && e->is_object())
    return error{errc::internal, what + ": " + e->value("description", std::string{"error"})};
  auto n = doc.find("purged");
  if (n == doc.end() || !n->is_number_unsigned())
    return error{errc::internal, what + ": the server's answer has no count"};
  return n->get<std::uint64_t>();
}

} // namespace smith::transport
