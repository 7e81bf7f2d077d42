// The exec handler: stray children, cancel, exit codes, spawn failures, bad payloads, concurrency.
#include "actors/handlers/exec_handler.hpp"

#include "tests/support/wait.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "exec_harness.hpp"
#include <fcntl.h>
#include <unistd.h>

namespace ac = smith::actors;
namespace tp = smith::transport;
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using smith::testing::wait_until;

using namespace exec_testing;

TEST_CASE("a child that exits while its background children hold the pipes does not hang us") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  auto out = run(fn, json{{"argv", {"sh", "-c", "sleep 300 & echo $$"}}, {"timeout_ms", 60000}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  auto doc = json::parse(out.output);
  CHECK(doc["duration_ms"].get<int>() < 10000);
  CHECK(group_gone(static_cast<pid_t>(std::stoi(doc["stdout"].get<std::string>()))));
}

TEST_CASE("cancelling a running exec kills its process group and fails as cancelled") {
  test_dir root;
  test_dir scratch;
  auto marker = scratch.path() / "pgid";
  auto fn = ac::handlers::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  json payload{
    {"argv",
     {"sh", "-c", R"(sleep 300 & sleep 300 & echo $$ > "$1"; wait)", "sh", marker.string()}},
    {"timeout_ms", 60000}};
  std::atomic<bool> cancel{false};
  auto running = std::async(std::launch::async, [&] { return run(fn, payload.dump(), cancel); });
  std::string pgid_text;
  CHECK(wait_until(
    [&] {
      pgid_text = read_file(marker);
      return pgid_text.ends_with('\n');
    },
    10s));
  cancel = true;
  REQUIRE(running.wait_for(10s) == std::future_status::ready);
  auto out = running.get();
  CHECK(out.what == ac::outcome::kind::fail);
  CHECK(out.error_type == "cancelled");
  CHECK(out.error == "cancelled");
  REQUIRE_FALSE(pgid_text.empty());
  CHECK(group_gone(static_cast<pid_t>(std::stoi(pgid_text))));
  CHECK(root.empty());
}

TEST_CASE("a non-zero exit fails with exit_code and still returns the output") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  auto out = run(fn, json{{"argv", {"sh", "-c", "echo out; echo err >&2; exit 3"}}});
  CHECK(out.what == ac::outcome::kind::fail);
  CHECK(out.error_type == "exit_code");
  CHECK(out.error == R"(program "sh" exited with 3)");
  auto doc = json::parse(out.output);
  CHECK(doc["exit_code"] == 3);
  CHECK(doc["signal"].is_null());
  CHECK(doc["stdout"] == "out\n");
  CHECK(doc["stderr"] == "err\n");

  SUBCASE("a child killed by a signal fails with signal") {
    out = run(fn, json{{"argv", {"sh", "-c", "kill -TERM $$"}}});
    CHECK(out.what == ac::outcome::kind::fail);
    CHECK(out.error_type == "signal");
    CHECK(json::parse(out.output)["signal"] == SIGTERM);
  }
}

TEST_CASE("an allowed program whose file is missing fails with spawn_failed and the reason") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"ghost", "/nonexistent/ghost"}}, root));
  auto out = run(fn, json{{"argv", {"ghost"}}});
  CHECK(out.what == ac::outcome::kind::fail);
  CHECK(out.error_type == "spawn_failed");
  CHECK(out.error.find("execve: No such file or directory") != std::string::npos);
  CHECK(root.empty());
}

TEST_CASE("invalid UTF-8 in the output is replaced so that the result stays valid JSON") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  auto out = run(fn, json{{"argv", {"sh", "-c", R"(printf 'a\377b')"}}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  CHECK(json::parse(out.output)["stdout"]
        == "a\xEF\xBF\xBD"
           "b");
}

TEST_CASE("payloads that are not a well-formed exec request are refused as bad_payload") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"echo", "/bin/echo"}}, root));
  std::atomic<bool> cancel{false};
  for (std::string payload : {
         R"(not json)",
         R"(["echo"])",
         R"({})",
         R"({"argv": []})",
         R"({"argv": "echo"})",
         R"({"argv": ["echo", 3]})",
         R"({"argv": ["echo", "a\u0000b"]})",
         R"({"argv": ["echo"], "timeout_ms": -5})",
         R"({"argv": ["echo"], "timeout_ms": 0})",
         R"({"argv": ["echo"], "timeout_ms": 1.5})",
         R"({"argv": ["echo"], "timeout": 5})",
         R"({"argv": ["echo"], "stdin": 5})",
         R"({"argv": ["echo"], "env": {"A": 1}})",
       }) {
    CAPTURE(payload);
    auto out = run(fn, payload, cancel);
    CHECK(out.what == ac::outcome::kind::fail);
    CHECK(out.error_type == "bad_payload");
    CHECK_FALSE(out.error.empty());
  }
  CHECK(root.empty());
}

TEST_CASE("a config that cannot work is refused at start-up") {
  test_dir root;
  CHECK_THROWS_AS(ac::handlers::make_exec_handler(config({{"echo", "echo"}}, root)),
                  std::invalid_argument);
  auto cfg = config({{"echo", "/bin/echo"}}, root);
  cfg.timeout = 2h;
  CHECK_THROWS_AS(ac::handlers::make_exec_handler(cfg), std::invalid_argument);
  cfg = config({{"echo", "/bin/echo"}}, root);
  cfg.work_root = root.path() / "missing";
  CHECK_THROWS_AS(ac::handlers::make_exec_handler(cfg), std::invalid_argument);
}

TEST_CASE("concurrent runs neither interfere nor leak descriptors into the worker") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"echo", "/bin/echo"}}, root));
  auto count_fds = [] {
    return std::distance(fs::directory_iterator{"/proc/self/fd"}, fs::directory_iterator{});
  };
  auto before = count_fds();
  std::vector<std::future<int>> runs;
  for (int t = 0; t < 8; ++t)
    runs.push_back(std::async(std::launch::async, [&fn, t] {
      int good = 0;
      for (int i = 0; i < 5; ++i) {
        auto word = std::to_string(t) + "-" + std::to_string(i);
        auto out = run(fn, json{{"argv", {"echo", word}}});
        good += out.what == ac::outcome::kind::succeeded
                && json::parse(out.output)["stdout"] == word + "\n";
      }
      return good;
    }));
  for (auto& r : runs)
    CHECK(r.get() == 5);
  CHECK(count_fds() == before);
  CHECK(root.empty());
}
