#include "transport/logging/encoder.hpp"

#include "transport/wire/utf8.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <ctime>
#include <vector>

namespace smith::transport::logging {

namespace {

constexpr std::array<std::string_view, 4> reserved{"ts", "level", "logger", "msg"};

void append_key(std::string& out, std::string_view key) {
  out += ',';
  append_json_string(out, key);
  out += ':';
}

template <class Number>
void append_number(std::string& out, Number n) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), n);
  out.append(buf.data(), ec == std::errc{} ? end : buf.data());
}

// Two digits (or three, or four) with leading zeros.
void append_padded(std::string& out, long n, int width) {
  std::array<char, 8> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), n);
  auto len = ec == std::errc{} ? end - buf.data() : 0;
  for (auto i = len; i < width; ++i)
    out += '0';
  out.append(buf.data(), static_cast<std::size_t>(len));
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  while (!text.empty()) {
    auto c = static_cast<unsigned char>(text.front());
    if (c >= 0x80) {
      auto n = wire::utf8_sequence_length(text);
      if (n == 0) {
        out += "\\ufffd";
        n = 1;
      } else {
        out.append(text.data(), n);
      }
      text.remove_prefix(n);
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
    text.remove_prefix(1);
  }
  out += '"';
}

void append_json_value(std::string& out, const value& v) {
  struct visitor {
    std::string& out;
    void operator()(value::absent) const {
      out += "null";
    }
    void operator()(std::string_view s) const {
      append_json_string(out, s);
    }
    void operator()(std::int64_t n) const {
      append_number(out, n);
    }
    void operator()(std::uint64_t n) const {
      append_number(out, n);
    }
    void operator()(double d) const {
      if (std::isfinite(d))
        append_number(out, d);
      else
        out += "null";
    }
    void operator()(bool b) const {
      out += b ? "true" : "false";
    }
  };
  std::visit(visitor{out}, v.get());
}

bool is_reserved_key(std::string_view key) noexcept {
  for (auto r : reserved)
    if (key == r)
      return true;
  return false;
}

void append_body(std::string& out, std::string_view msg, std::span<const field> fields) {
  append_json_string(out, "msg");
  out += ':';
  append_json_string(out, msg);
  // Lines have a handful of fields: a linear scan beats a set.
  std::vector<std::string> written;
  written.reserve(fields.size());
  auto taken = [&](std::string_view key) {
    if (is_reserved_key(key))
      return true;
    for (const auto& w : written)
      if (w == key)
        return true;
    return false;
  };
  for (const auto& f : fields) {
    if (!f.val.present())
      continue;
    std::string key{f.key};
    for (int n = 2; taken(key); ++n)
      key = std::string{f.key} + "_" + std::to_string(n);
    append_key(out, key);
    append_json_value(out, f.val);
    written.push_back(std::move(key));
  }
}

void append_utc_ms(std::string& out, std::int64_t ms) {
  auto secs = static_cast<std::time_t>(ms / 1000);
  auto frac = ms % 1000;
  if (frac < 0) { // before 1970: floor, not truncate
    frac += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  append_padded(out, tm.tm_year + 1900L, 4);
  out += '-';
  append_padded(out, tm.tm_mon + 1L, 2);
  out += '-';
  append_padded(out, tm.tm_mday, 2);
  out += 'T';
  append_padded(out, tm.tm_hour, 2);
  out += ':';
  append_padded(out, tm.tm_min, 2);
  out += ':';
  append_padded(out, tm.tm_sec, 2);
  out += '.';
  append_padded(out, static_cast<long>(frac), 3);
  out += 'Z';
}

void append_line(std::string& out, std::chrono::system_clock::time_point ts, level l,
                 std::string_view logger, std::string_view body) {
  using namespace std::chrono;
  out += "{\"ts\":\"";
  append_utc_ms(out, duration_cast<milliseconds>(ts.time_since_epoch()).count());
  out += "\",\"level\":";
  append_json_string(out, to_string(l));
  out += ",\"logger\":";
  append_json_string(out, logger);
  out += ',';
  out += body;
  out += "}\n";
}

} // namespace smith::transport::logging
