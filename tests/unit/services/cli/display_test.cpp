// What the CLI shows a person: hostile bytes escaped, times readable, tables aligned, and the
// --api URL forms it takes or refuses.
#include "services/cli/client.hpp"
#include "services/cli/display.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace smith::services::cli;

TEST_CASE("escape_text keeps UTF-8 text and writes control bytes and invalid UTF-8 as escapes") {
  CHECK(escape_text("plain ü → ✓") == "plain ü → ✓");
  CHECK(escape_text(std::string{"a\0b", 3}) == "a\\x00b");
  CHECK(escape_text("\x1b[31mred\x7f") == "\\x1b[31mred\\x7f");
  CHECK(escape_text("line\nnext\r\ttab") == "line\\nnext\\r\\ttab");
  CHECK(escape_text("\xc2\x9b"
                    "2J")
        == "\\xc2\\x9b2J"); // C1 CSI, as UTF-8
  CHECK(escape_text("\xff\xfe ok") == "\\xff\\xfe ok");
  CHECK(escape_text("\xe2\x82") == "\\xe2\\x82"); // a cut sequence
}

TEST_CASE("times read as RFC 3339 UTC with milliseconds and an age; odd numbers stay numbers") {
  CHECK(rfc3339_ms(1795939565940) == "2026-11-29T08:06:05.940Z");
  CHECK(rfc3339_ms(-5) == "-5");
  CHECK(rfc3339_ms(INT64_MAX) == std::to_string(INT64_MAX));
  const std::int64_t now = 1'800'000'000'000;
  CHECK(age(now - 3'200, now) == "3.2s ago");
  CHECK(age(now + 59'700, now) == "in 59.7s");
  CHECK(age(now - 245'000, now) == "4m05s ago");
  CHECK(age(now - 7'800'000, now) == "2h10m ago");
  CHECK(age(now - (3 * 86'400'000 + 4 * 3'600'000), now) == "3d04h ago");
  CHECK(age(INT64_MIN, now) == "long ago");
  CHECK(when(1795939565940, 1795939569140) == "2026-11-29T08:06:05.940Z (3.2s ago)");
}

namespace {

// What `fn` writes to stdout.
template <class Fn>
std::string stdout_of(Fn fn) {
  std::fflush(stdout);
  char path[] = "/tmp/display-test-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  int saved = ::dup(STDOUT_FILENO);
  ::dup2(fd, STDOUT_FILENO);
  fn();
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(fd);
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  ::unlink(path);
  return text;
}

} // namespace

TEST_CASE("a table sizes each column to its widest cell, in characters, and escapes cells") {
  auto text = stdout_of([] {
    print_table({"SEQ", "ID", "REASON"},
                {{"1", "t-01a2499a7f0a5d703e70394c89ad", "bad\nline"}, {"12", "ü", "x"}}, {0});
  });
  CHECK(text
        == "SEQ  ID                              REASON\n"
           "  1  t-01a2499a7f0a5d703e70394c89ad  bad\\nline\n"
           " 12  ü                               x\n");
}

TEST_CASE("status prints readable times, the whole output escaped, then the other fields") {
  nlohmann::json s{{"id", "t1"},
                   {"state", "succeeded"},
                   {"finished_ms", 1795939565940},
                   {"output", std::string{"a\0b", 3}},
                   {"extra", 7}};
  auto text = stdout_of([&] { print_status(s); });
  CHECK(text.starts_with("id           t1\nstate        succeeded\n"
                         "finished     2026-11-29T08:06:05.940Z ("));
  CHECK(text.ends_with(" ago)\noutput       a\\x00b\nextra        7\n"));
}

TEST_CASE("--api takes a base URL with or without a trailing slash or a path prefix") {
  auto u = parse_api_url("http://127.0.0.1:8080");
  CHECK(u.base == "http://127.0.0.1:8080");
  CHECK(u.prefix.empty());
  CHECK(parse_api_url("http://127.0.0.1:8080/").prefix.empty());
  CHECK(parse_api_url("https://h/smith/").base == "https://h");
  CHECK(parse_api_url("https://h/smith/").prefix == "/smith");
  CHECK(parse_api_url("http://[::1]:8080/a/b").prefix == "/a/b");
  for (const char* bad :
       {"127.0.0.1:8080", "ftp://h", "http://", "http://u@h", "http://h:0", "http://h:99999",
        "http://h:x", "http://h/?q=1", "http://h/#f", "http://h /", "http://:80"})
    CHECK_THROWS_AS_MESSAGE(parse_api_url(bad), command_exit, bad);
}
