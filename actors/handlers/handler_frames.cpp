#include "actors/handlers/handler_frames.hpp"

#include <msgpack.hpp>

#include <array>
#include <set>

namespace smith::actors::handlers::frames {

namespace {

using object_type = msgpack::type::object_type;

/// Appends to a string; what msgpack::packer writes into.
struct sink {
  std::string bytes;

  void write(const char* data, std::size_t n) {
    bytes.append(data, n);
  }
};

class body_writer {
public:
  explicit body_writer(std::uint32_t entries) : packer_(out_) {
    out_.bytes.append(4, '\0'); // the length, filled in by take()
    packer_.pack_map(entries);
  }

  void str(std::string_view key, std::string_view value) {
    key_of(key);
    packer_.pack_str(static_cast<std::uint32_t>(value.size()));
    packer_.pack_str_body(value.data(), static_cast<std::uint32_t>(value.size()));
  }

  void bin(std::string_view key, std::string_view value) {
    key_of(key);
    packer_.pack_bin(static_cast<std::uint32_t>(value.size()));
    packer_.pack_bin_body(value.data(), static_cast<std::uint32_t>(value.size()));
  }

  void u64(std::string_view key, std::uint64_t value) {
    key_of(key);
    packer_.pack_uint64(value);
  }

  void i64(std::string_view key, std::int64_t value) {
    key_of(key);
    packer_.pack_int64(value);
  }

  void str_map(std::string_view key, const std::map<std::string, std::string>& value) {
    key_of(key);
    packer_.pack_map(static_cast<std::uint32_t>(value.size()));
    for (const auto& [k, v] : value) {
      packer_.pack_str(static_cast<std::uint32_t>(k.size()));
      packer_.pack_str_body(k.data(), static_cast<std::uint32_t>(k.size()));
      packer_.pack_str(static_cast<std::uint32_t>(v.size()));
      packer_.pack_str_body(v.data(), static_cast<std::uint32_t>(v.size()));
    }
  }

  std::string take() {
    auto n = static_cast<std::uint32_t>(out_.bytes.size() - 4);
    for (int i = 0; i < 4; ++i)
      out_.bytes[static_cast<std::size_t>(i)] = static_cast<char>((n >> (24 - 8 * i)) & 0xffU);
    return std::move(out_.bytes);
  }

private:
  void key_of(std::string_view key) {
    packer_.pack_str(static_cast<std::uint32_t>(key.size()));
    packer_.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
  }

  sink out_;
  msgpack::packer<sink> packer_;
};

bool reference_all(object_type, std::size_t, void*) {
  return true;
}

/// The fields of one body, read by key; the first failure is kept.
class fields {
public:
  explicit fields(const msgpack::object& map) {
    for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
      const auto& kv = map.via.map.ptr[i];
      if (kv.key.type != object_type::STR) {
        fail("a key is not a str");
        return;
      }
      std::string key{kv.key.via.str.ptr, kv.key.via.str.size};
      if (!by_key_.emplace(key, &kv.val).second)
        fail("the key `" + key + "` appears twice");
    }
  }

  const msgpack::object* get(const std::string& key) const {
    auto it = by_key_.find(key);
    return it == by_key_.end() || it->second->type == object_type::NIL ? nullptr : it->second;
  }

  std::string text(const std::string& key, bool required, bool bytes_too = false) {
    const auto* v = get(key);
    if (v == nullptr) {
      if (required)
        fail("`" + key + "` is missing");
      return {};
    }
    if (v->type == object_type::STR)
      return {v->via.str.ptr, v->via.str.size};
    if (bytes_too && v->type == object_type::BIN)
      return {v->via.bin.ptr, v->via.bin.size};
    fail("`" + key + "` must be a " + (bytes_too ? "bin or str" : "str"));
    return {};
  }

  std::optional<std::uint64_t> uint(const std::string& key, bool required, std::uint64_t max) {
    const auto* v = get(key);
    if (v == nullptr) {
      if (required)
        fail("`" + key + "` is missing");
      return std::nullopt;
    }
    if (v->type != object_type::POSITIVE_INTEGER || v->via.u64 > max) {
      fail("`" + key + "` must be an integer from 0 to " + std::to_string(max));
      return std::nullopt;
    }
    return v->via.u64;
  }

  void fail(std::string why) {
    if (error.empty())
      error = std::move(why);
  }

  std::string error;

private:
  std::map<std::string, const msgpack::object*> by_key_;
};

constexpr std::uint64_t max_seq = ~std::uint64_t{0};

message decode_hello(fields& f) {
  hello h;
  h.protocol = static_cast<std::uint32_t>(f.uint("protocol", true, 0xffffffffU).value_or(0));
  h.concurrency =
    static_cast<std::uint32_t>(f.uint("concurrency", false, max_concurrency).value_or(1));
  if (h.concurrency == 0)
    f.fail("`concurrency` must be from 1 to " + std::to_string(max_concurrency));
  if (const auto* types = f.get("types")) {
    if (types->type != object_type::ARRAY) {
      f.fail("`types` must be an array of str");
    } else {
      for (std::uint32_t i = 0; i < types->via.array.size; ++i) {
        const auto& t = types->via.array.ptr[i];
        if (t.type != object_type::STR || t.via.str.size == 0) {
          f.fail("`types` must be an array of non-empty str");
          break;
        }
        h.types.emplace_back(t.via.str.ptr, t.via.str.size);
      }
    }
  }
  return h;
}

message decode_result(fields& f) {
  result r;
  r.seq = f.uint("seq", true, max_seq).value_or(0);
  auto status = f.text("status", true);
  if (status == "succeeded")
    r.how = result::status::succeeded;
  else if (status == "failed")
    r.how = result::status::failed;
  else if (status == "retry")
    r.how = result::status::retry;
  else if (!status.empty())
    f.fail("`status` must be \"succeeded\", \"failed\" or \"retry\"");
  r.output = f.text("output", false, true);
  r.error = f.text("error", r.how != result::status::succeeded);
  r.error_type = f.text("error_type", false);
  return r;
}

} // namespace

std::string encode(const task_frame& f) {
  body_writer out{f.deadline_ms ? 8U : 7U};
  out.str("kind", "task");
  out.u64("seq", f.seq);
  out.str("id", f.id);
  out.str("type", f.type);
  out.bin("payload", f.payload);
  out.u64("attempt", f.attempt);
  out.str_map("meta", f.meta);
  if (f.deadline_ms)
    out.i64("deadline_ms", *f.deadline_ms);
  return out.take();
}

std::string encode(const cancel_frame& f) {
  body_writer out{3};
  out.str("kind", "cancel");
  out.u64("seq", f.seq);
  out.str("reason", f.reason);
  return out.take();
}

decoded decode(std::string_view body) {
  // A map or array header makes msgpack-c allocate for all its entries before it reads any:
  // bounded here, as are the sizes of str and bin (the frame's own bound) and the depth.
  constexpr std::size_t entries = 4096;
  const msgpack::unpack_limit limit{entries,         entries,         max_frame_bytes,
                                    max_frame_bytes, max_frame_bytes, 4};
  msgpack::object_handle handle;
  try {
    std::size_t offset = 0;
    handle = msgpack::unpack(body.data(), body.size(), offset, reference_all, nullptr, limit);
    if (offset != body.size())
      return {std::nullopt, "trailing bytes after the msgpack map"};
  } catch (const std::exception& e) {
    return {std::nullopt, std::string{"not one msgpack map: "} + e.what()};
  }
  const auto& root = handle.get();
  if (root.type != object_type::MAP)
    return {std::nullopt, "a frame's body must be a msgpack map"};
  fields f{root};
  auto kind = f.text("kind", true);
  std::optional<message> out;
  if (kind == "hello") {
    out = decode_hello(f);
  } else if (kind == "progress") {
    progress p;
    p.seq = f.uint("seq", true, max_seq).value_or(0);
    p.percent = static_cast<int>(f.uint("percent", true, 100).value_or(0));
    p.message = f.text("message", false);
    out = p;
  } else if (kind == "log") {
    log_line l;
    l.seq = f.uint("seq", false, max_seq);
    l.level = f.text("level", true);
    static const std::set<std::string, std::less<>> levels{"debug", "info", "warn", "error"};
    if (!l.level.empty() && !levels.contains(l.level))
      f.fail("`level` must be debug, info, warn or error");
    l.message = f.text("message", true);
    out = l;
  } else if (kind == "result") {
    out = decode_result(f);
  } else if (!kind.empty()) {
    f.fail("unknown kind \"" + kind.substr(0, 64) + "\"");
  }
  if (!f.error.empty())
    return {std::nullopt,
            (kind.empty() ? std::string{"frame"} : kind.substr(0, 64)) + ": " + f.error};
  return {std::move(out), {}};
}

void reader::feed(std::string_view bytes) {
  if (!error_.empty())
    return;
  if (start_ > 0 && start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<std::string> reader::next() {
  if (!error_.empty() || buffer_.size() - start_ < 4)
    return std::nullopt;
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < 4; ++i)
    n = (n << 8U) | static_cast<unsigned char>(buffer_[start_ + i]);
  if (n == 0 || n > max_frame_bytes) {
    error_ = "a frame length of " + std::to_string(n) + " (1 to " + std::to_string(max_frame_bytes)
             + " bytes)";
    return std::nullopt;
  }
  if (buffer_.size() - start_ - 4 < n)
    return std::nullopt;
  std::string body = buffer_.substr(start_ + 4, n);
  start_ += 4 + n;
  if (start_ > buffer_.size() / 2) { // keep the buffer from growing without end
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return body;
}

} // namespace smith::actors::handlers::frames
