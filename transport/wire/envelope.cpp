// The msgpack codec of the wire records. Encoding writes straight into the returned string (one
// allocation when the size estimate holds); decoding goes through msgpack_reader, which never
// throws and names the field of every failure.
#include "transport/wire/envelope.hpp"

#include "transport/wire/msgpack_reader.hpp"
#include "transport/wire/utf8.hpp"

#include <msgpack.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace smith::transport::wire {

namespace {

/// The msgpack::packer stream: appends to a string.
struct string_sink {
  std::string& out;

  void write(const char* data, std::size_t size) {
    out.append(data, size);
  }
};

/// Headers, keys and integers of the largest record, with room to spare; the variable parts
/// (strings, bytes, meta) are added to it when reserving.
constexpr std::size_t fixed_overhead = 192;

/// Per meta entry: two str headers of at most 5 bytes each.
constexpr std::size_t meta_entry_overhead = 10;

// Bodies are bounded by the stream's max_msg_size (megabytes), far below the 4 GiB a msgpack
// length can express, so the narrowing casts below cannot truncate a real body.
class body_writer {
public:
  explicit body_writer(std::size_t estimate) : packer_(sink_) {
    out_.reserve(estimate);
  }

  body_writer(const body_writer&) = delete;
  body_writer& operator=(const body_writer&) = delete;

  void map(std::size_t entries) {
    packer_.pack_map(static_cast<std::uint32_t>(entries));
  }

  // msgpack's str is UTF-8 and our decoders insist on it: text that is not (a handler's error
  // quoting raw bytes, a subject) is written with U+FFFD in place of each invalid byte.
  void str(std::string_view text) {
    if (!is_utf8(text)) {
      auto fixed = to_utf8_lossy(text);
      str(fixed);
      return;
    }
    const auto size = static_cast<std::uint32_t>(text.size());
    packer_.pack_str(size);
    packer_.pack_str_body(text.data(), size);
  }

  void bin(std::string_view bytes) {
    const auto size = static_cast<std::uint32_t>(bytes.size());
    packer_.pack_bin(size);
    packer_.pack_bin_body(bytes.data(), size);
  }

  // -- key/value pairs ---------------------------------------------------------------------------

  void str(std::string_view key, std::string_view value) {
    str(key);
    str(value);
  }

  void bin(std::string_view key, std::string_view value) {
    str(key);
    bin(value);
  }

  void boolean(std::string_view key, bool value) {
    str(key);
    if (value)
      packer_.pack_true();
    else
      packer_.pack_false();
  }

  // msgpack-c picks the smallest encoding; non-negative values come out as msgpack uint.
  void i64(std::string_view key, std::int64_t value) {
    str(key);
    packer_.pack_int64(value);
  }

  void u64(std::string_view key, std::uint64_t value) {
    str(key);
    packer_.pack_uint64(value);
  }

  void version() {
    u64("v", wire_version);
  }

  std::string take() {
    return std::move(out_);
  }

private:
  std::string out_;
  string_sink sink_{out_};
  msgpack::packer<string_sink> packer_;
};

std::size_t meta_size(const std::map<std::string, std::string>& meta) {
  std::size_t size = 0;
  for (const auto& [key, value] : meta)
    size += key.size() + value.size() + meta_entry_overhead;
  return size;
}

} // namespace

// -- encoding ------------------------------------------------------------------------------------

std::string encode(const task& value) {
  body_writer out{fixed_overhead + value.id.size() + value.type.size() + value.payload.size()
                  + meta_size(value.meta)};
  out.map(5 + (value.deadline_ms ? 1 : 0) + (value.meta.empty() ? 0 : 1));
  out.version();
  out.str("id", value.id);
  out.str("type", value.type);
  out.bin("payload", value.payload);
  out.i64("created_ms", value.created_ms);
  if (value.deadline_ms)
    out.i64("deadline_ms", *value.deadline_ms);
  if (!value.meta.empty()) {
    out.str("meta");
    out.map(value.meta.size());
    for (const auto& [key, text] : value.meta)
      out.str(key, text);
  }
  return out.take();
}

std::string encode(const result& value) {
  body_writer out{fixed_overhead + value.id.size() + value.output.size()
                  + (value.error ? value.error->size() : 0) + value.worker.size()};
  out.map(8 + (value.error ? 1 : 0) + (value.status ? 1 : 0));
  out.version();
  out.str("id", value.id);
  out.boolean("ok", value.ok);
  out.bin("output", value.output);
  if (value.error)
    out.str("error", *value.error);
  out.u64("attempts", value.attempts);
  out.str("worker", value.worker);
  out.i64("started_ms", value.started_ms);
  out.i64("finished_ms", value.finished_ms);
  if (value.status)
    out.str("status", *value.status);
  return out.take();
}

std::string encode(const dead_letter& value) {
  body_writer out{fixed_overhead + value.id.size() + value.role.size() + value.type.size()
                  + value.reason.size() + value.subject.size() + value.original.size()};
  out.map(10);
  out.version();
  out.str("id", value.id);
  out.str("role", value.role);
  out.str("type", value.type);
  out.str("reason", value.reason);
  out.u64("attempts", value.attempts);
  out.str("subject", value.subject);
  out.u64("stream_seq", value.stream_seq);
  out.i64("failed_ms", value.failed_ms);
  out.bin("original", value.original);
  return out.take();
}

// -- decoding ------------------------------------------------------------------------------------

expected<task> decode_task(std::string_view body, const decode_limits& limits) {
  auto reader = msgpack_reader::open(body, "task", limits);
  if (!reader)
    return reader.error();
  task out;
  reader->str("id", out.id, text_rule::token);
  reader->str("type", out.type, text_rule::token);
  reader->bin("payload", out.payload);
  reader->i64("created_ms", out.created_ms);
  reader->optional_i64("deadline_ms", out.deadline_ms);
  reader->optional_str_map("meta", out.meta);
  return reader->finish(std::move(out));
}

expected<result> decode_result(std::string_view body, const decode_limits& limits) {
  auto reader = msgpack_reader::open(body, "result", limits);
  if (!reader)
    return reader.error();
  result out;
  reader->str("id", out.id, text_rule::token);
  reader->boolean("ok", out.ok);
  reader->bin("output", out.output);
  reader->optional_str("error", out.error, text_rule::any);
  reader->u32("attempts", out.attempts);
  reader->str("worker", out.worker, text_rule::bounded);
  reader->i64("started_ms", out.started_ms);
  reader->i64("finished_ms", out.finished_ms);
  reader->optional_str("status", out.status, text_rule::bounded);
  return reader->finish(std::move(out));
}

expected<dead_letter> decode_dead_letter(std::string_view body, const decode_limits& limits) {
  auto reader = msgpack_reader::open(body, "dead letter", limits);
  if (!reader)
    return reader.error();
  dead_letter out;
  // The id, role and type may be empty: the body that died may not have decoded at all.
  reader->str("id", out.id, text_rule::bounded);
  reader->str("role", out.role, text_rule::bounded);
  reader->str("type", out.type, text_rule::bounded);
  reader->str("reason", out.reason, text_rule::any);
  reader->u32("attempts", out.attempts);
  reader->str("subject", out.subject, text_rule::any);
  reader->u64("stream_seq", out.stream_seq);
  reader->i64("failed_ms", out.failed_ms);
  reader->bin("original", out.original);
  return reader->finish(std::move(out));
}

} // namespace smith::transport::wire
