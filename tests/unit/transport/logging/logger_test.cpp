// The named loggers: one JSON line per call on the shared output, the logger's name in it,
// levels that gate the building of a line (arguments are not even evaluated), and loggers that
// work with no set-up at all.
#include "json_keys.hpp"
#include "transport/logging/logger.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace logging = smith::transport::logging;
using smith::testing::parse_line;

namespace {

// Captures what the loggers write, in a temporary file, for the life of one test.
struct captured {
  captured() : file(std::tmpfile()) {
    REQUIRE(file != nullptr);
    logging::set_output(file);
  }

  ~captured() {
    logging::set_output(stdout);
    std::fclose(file);
  }

  std::vector<std::string> lines() const {
    logging::flush();
    std::rewind(file);
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), file)) > 0;)
      text.append(buf, n);
    std::fseek(file, 0, SEEK_END);
    std::vector<std::string> out;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
    return out;
  }

  std::FILE* file;
};

int evaluated = 0;

std::string counted(std::string text) {
  ++evaluated;
  return text;
}

} // namespace

TEST_CASE("a logger made before any set-up writes at info and above") {
  auto& fresh = logging::get("unit-fresh");
  CHECK(fresh.name() == "unit-fresh");
  CHECK(fresh.enabled(logging::level::info));
  CHECK(fresh.enabled(logging::level::fatal));
  CHECK_FALSE(fresh.enabled(logging::level::debug));
  CHECK_FALSE(fresh.enabled(logging::level::off));
  CHECK(&logging::get("unit-fresh") == &fresh);
}

TEST_CASE("SMITH_LOG writes one JSON line with the logger's name and the fields") {
  captured out;
  auto& lg = logging::get("worker");
  std::string id = R"(a"b\c)";
  SMITH_LOG(lg, warn, "fetch failed", {"task_id", id}, {"attempt", 3u}, {"ok", false});
  SMITH_LOG(lg, info, "no fields");
  auto lines = out.lines();
  REQUIRE(lines.size() == 2);
  auto p = parse_line(lines[0]);
  REQUIRE_FALSE(p.doc.is_discarded());
  CHECK(p.unique_keys);
  CHECK(lines[0].starts_with(R"({"ts":")"));
  CHECK(lines[0].find(R"("level":"WARN","logger":"worker","msg":"fetch failed",)")
        != std::string::npos);
  CHECK(p.doc["task_id"] == id);
  CHECK(p.doc["attempt"] == 3);
  CHECK(p.doc["ok"] == false);
  CHECK(lines[1].ends_with(R"("level":"INFO","logger":"worker","msg":"no fields"})"));
}

TEST_CASE("a level that is off evaluates neither the message nor the fields") {
  captured out;
  auto& lg = logging::get("unit-gated");
  lg.set_level(logging::level::warn);
  evaluated = 0;
  SMITH_LOG(lg, info, counted("msg"), {"error", counted("expensive")});
  SMITH_LOG(lg, debug, "x", {"error", counted("expensive")});
  CHECK(evaluated == 0);
  CHECK(out.lines().empty());
  SMITH_LOG(lg, error, counted("msg"), {"error", counted("expensive")});
  CHECK(evaluated == 2);
  CHECK(out.lines().size() == 1);
  lg.set_level(logging::level::info);
}

TEST_CASE("set_level reaches every logger, also those made later") {
  captured out;
  auto& before = logging::get("unit-before");
  logging::set_level(logging::level::error);
  auto& after = logging::get("unit-after");
  CHECK_FALSE(before.enabled(logging::level::warn));
  CHECK_FALSE(after.enabled(logging::level::warn));
  CHECK(after.enabled(logging::level::error));
  logging::set_level(logging::level::off);
  CHECK_FALSE(before.enabled(logging::level::fatal));
  SMITH_LOG(after, fatal, "not written");
  CHECK(out.lines().empty());
  logging::set_level(logging::level::info);
  CHECK(before.enabled(logging::level::info));
}

TEST_CASE("spdlog's default logger, once routed, writes the same JSON lines with its text as msg") {
  captured out;
  logging::route_spdlog_default("smith");
  spdlog::warn(R"(hand-made {{"level":"{}"}})", "x");
  auto lines = out.lines();
  REQUIRE(lines.size() == 1);
  auto p = parse_line(lines[0]);
  REQUIRE_FALSE(p.doc.is_discarded());
  CHECK(p.unique_keys);
  CHECK(p.doc["level"] == "WARN");
  CHECK(p.doc["logger"] == "smith");
  CHECK(p.doc["msg"] == R"(hand-made {"level":"x"})");
}

TEST_CASE("a line written at once goes after the lines gathered before it") {
  captured out;
  auto& lg = logging::get("worker");
  lg.write_gathered(logging::level::info, "gathered first", {});
  SMITH_LOG(lg, info, "written at once");
  // Read without flush(): the second line took the gathered one out with it, in order.
  std::fflush(out.file);
  std::rewind(out.file);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out.file));
  std::fseek(out.file, 0, SEEK_END);
  auto first = text.find("gathered first");
  auto second = text.find("written at once");
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  CHECK(first < second);
}

TEST_CASE("lines from many threads, gathered or not, are whole, none lost, each thread's in "
          "order") {
  captured out;
  auto& lg = logging::get("worker");
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&lg, t] {
      for (int i = 0; i < per_thread; ++i)
        if (i % 2 == 0)
          lg.write_gathered(logging::level::info, "line", {{"thread", t}, {"i", i}});
        else
          SMITH_LOG(lg, info, "line", {"thread", t}, {"i", i});
    });
  for (auto& th : pool)
    th.join();
  auto lines = out.lines();
  REQUIRE(lines.size() == static_cast<std::size_t>(threads * per_thread));
  std::vector<int> next(threads, 0);
  for (const auto& line : lines) {
    auto p = parse_line(line);
    REQUIRE_FALSE(p.doc.is_discarded());
    auto t = p.doc["thread"].get<int>();
    CHECK(p.doc["i"].get<int>() == next[t]);
    ++next[t];
  }
}
