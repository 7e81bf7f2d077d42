#include "transport/pub_ack.hpp"
#include "transport/nats_error.hpp"

#include <nlohmann/json.hpp>

#include <string_view>

namespace smith::transport {

namespace {

// Reads a PubAck, {"stream":"S","seq":N} with "duplicate":true for a repeated id, or
// {"error":{"code":C,"err_code":E,"description":"D"}}, without building a document.
class pub_ack_reader final : public nlohmann::json_sax<nlohmann::json> {
public:
  std::string stream;
  std::uint64_t sequence = 0;
  bool has_sequence = false;
  bool duplicate = false;
  bool is_error = false;
  int err_code = 0;
  std::string description;

  bool null() override {
    return true;
  }
  bool boolean(bool v) override {
    if (depth_ == 1 && key_ == "duplicate")
      duplicate = v;
    return true;
  }
  bool number_integer(number_integer_t v) override {
    return v < 0 || number_unsigned(static_cast<number_unsigned_t>(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (depth_ == 1 && key_ == "seq") {
      sequence = v;
      has_sequence = true;
    } else if (in_error_ && depth_ == 2 && key_ == "err_code")
      err_code = static_cast<int>(v);
    return true;
  }
  bool number_float(number_float_t, const string_t&) override {
    return true;
  }
  bool string(string_t& v) override {
    if (depth_ == 1 && key_ == "stream")
      stream = std::move(v);
    else if (in_error_ && depth_ == 2 && key_ == "description")
      description = std::move(v);
    return true;
  }
  bool binary(binary_t&) override {
    return true;
  }
  bool start_object(std::size_t) override {
    if (++depth_ == 2 && key_ == "error")
      in_error_ = is_error = true;
    return true;
  }
  bool key(string_t& k) override {
    key_.assign(k);
    return true;
  }
  bool end_object() override {
    if (depth_-- == 2)
      in_error_ = false;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

private:
  int depth_ = 0;
  bool in_error_ = false;
  std::string key_;
};

} // namespace

expected<publish_ack> read_pub_ack(natsMsg* reply, const std::string& subject) {
  std::string_view data{natsMsg_GetData(reply),
                        static_cast<std::size_t>(natsMsg_GetDataLength(reply))};
  if (data.empty()) {
    // No stream listens on the subject: the server answers with status 503 and no body.
    const char* status = nullptr;
    if (natsMsgHeader_Get(reply, "Status", &status) == NATS_OK && status != nullptr
        && std::string_view{status} == "503")
      return from_nats(NATS_NO_RESPONDERS, "publish to " + subject);
    return from_nats(
      NATS_ERR, "publish to " + subject + ": an empty PubAck"
                  + (status != nullptr ? " with status " + std::string{status} : std::string{}));
  }
  pub_ack_reader r;
  bool parsed = nlohmann::json::sax_parse(data.begin(), data.end(), &r);
  if (parsed && r.is_error) {
    auto err = from_nats(NATS_ERR, "publish to " + subject, static_cast<jsErrCode>(r.err_code));
    if (r.err_code != 0 && !r.description.empty())
      err =
        error{err.code(), err.message() + ": " + r.description, err.nats_status(), err.js_code()};
    return err;
  }
  if (!parsed || !r.has_sequence)
    return from_nats(NATS_ERR, "publish to " + subject + ": an unreadable PubAck");
  return publish_ack{std::move(r.stream), r.sequence, r.duplicate};
}

} // namespace smith::transport
