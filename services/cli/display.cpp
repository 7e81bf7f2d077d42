#include "services/cli/display.hpp"

#include "transport/clock.hpp"
#include "transport/wire/base64.hpp"
#include "transport/wire/utf8.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace smith::services::cli {

namespace {

void append_hex(std::string& out, unsigned char c) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\x";
  out += digits[c >> 4];
  out += digits[c & 0xf];
}

// The latest time RFC 3339 can write (9999-12-31T23:59:59.999Z); a number past it, or before
// 1970, is shown as the number it is.
constexpr std::int64_t last_rfc3339_ms = 253'402'300'799'999;

} // namespace

std::string escape_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    auto n = transport::wire::utf8_sequence_length(text);
    auto c = static_cast<unsigned char>(text[0]);
    bool c1 = n == 2 && c == 0xc2 && static_cast<unsigned char>(text[1]) < 0xa0;
    if (n == 0 || c1 || (n == 1 && (c < 0x20 || c == 0x7f))) {
      auto bytes = std::max<std::size_t>(n, 1);
      for (std::size_t i = 0; i < bytes; ++i) {
        auto b = static_cast<unsigned char>(text[i]);
        if (b == '\n')
          out += "\\n";
        else if (b == '\r')
          out += "\\r";
        else if (b == '\t')
          out += "\\t";
        else
          append_hex(out, b);
      }
      text.remove_prefix(bytes);
      continue;
    }
    out.append(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

std::string rfc3339_ms(std::int64_t unix_ms) {
  if (unix_ms < 0 || unix_ms > last_rfc3339_ms)
    return std::to_string(unix_ms);
  return transport::rfc3339_ms(unix_ms);
}

std::string age(std::int64_t unix_ms, std::int64_t now_ms) {
  // In double: a hostile time minus now must not overflow.
  double d = static_cast<double>(now_ms) - static_cast<double>(unix_ms);
  bool past = d >= 0;
  double secs = std::abs(d) / 1000.0;
  char buf[64];
  if (secs < 60)
    std::snprintf(buf, sizeof buf, "%.1fs", secs);
  else if (secs < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(secs / 60),
                  static_cast<int>(secs) % 60);
  else if (secs < 86400)
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(secs / 3600),
                  static_cast<int>(secs / 60) % 60);
  else if (secs < 1e12)
    std::snprintf(buf, sizeof buf, "%.0fd%02dh", std::floor(secs / 86400),
                  static_cast<int>(std::fmod(secs / 3600, 24)));
  else
    return past ? "long ago" : "far ahead";
  return past ? std::string{buf} + " ago" : "in " + std::string{buf};
}

std::string when(std::int64_t unix_ms, std::int64_t now_ms) {
  return rfc3339_ms(unix_ms) + " (" + age(unix_ms, now_ms) + ")";
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows,
                 const std::vector<std::size_t>& right) {
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size() + 1);
  cells.push_back(header);
  for (const auto& r : rows) {
    auto& row = cells.emplace_back();
    for (const auto& c : r)
      row.push_back(escape_text(c));
  }
  std::vector<std::size_t> width(header.size(), 0);
  // Width in code points, not bytes: an id in another script stays aligned.
  auto length = [](const std::string& s) {
    return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
  };
  for (const auto& row : cells)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], length(row[i]));
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      bool last = i + 1 == width.size();
      std::string pad(width[i] - length(row[i]), ' ');
      if (i > 0)
        line += "  ";
      if (std::find(right.begin(), right.end(), i) != right.end())
        line += pad + row[i];
      else
        line += last ? row[i] : row[i] + pad;
    }
    std::printf("%s\n", line.c_str());
  }
}

void print_status(const nlohmann::json& s) {
  auto now = transport::unix_ms();
  std::set<std::string> shown;
  auto line = [&](const std::string& key, const std::string& value) {
    std::printf("%-12s %s\n", key.c_str(), escape_text(value).c_str());
  };
  auto text_of = [](const nlohmann::json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  auto field = [&](const std::string& key) {
    auto it = s.find(key);
    if (it == s.end() || shown.contains(key))
      return;
    shown.insert(key);
    if (key.ends_with("_ms") && it->is_number_integer()) {
      auto name = key.substr(0, key.size() - 3);
      shown.insert(name); // due_ms stands for due, which says the same as it was given
      line(name, when(it->get<std::int64_t>(), now));
    } else if (key == "progress" && it->is_object()) {
      auto pct = it->find("percent");
      auto msg = it->find("message");
      line(key, (pct != it->end() ? text_of(*pct) + "%" : std::string{})
                  + (msg != it->end() && msg->is_string() ? " " + msg->get<std::string>() : ""));
    } else if (key == "output_base64" && it->is_string()) {
      shown.insert("output");
      line("output", transport::wire::base64_decode(it->get<std::string>()).value_or(""));
    } else {
      line(key, text_of(*it));
    }
  };
  for (const auto* key :
       {"id", "state", "role", "type", "worker", "attempts", "progress", "stream_seq", "queued_ms",
        "due_ms", "started_ms", "finished_ms", "error", "output", "output_base64"})
    field(key);
  for (const auto& [k, v] : s.items())
    field(k);
}

} // namespace smith::services::cli
