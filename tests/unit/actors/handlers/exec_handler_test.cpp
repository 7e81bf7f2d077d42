// The exec handler: allow-list, environment, descriptors, stdin, output caps, timeouts.
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

static_assert(std::is_aggregate_v<ac::handlers::exec_config>);

using namespace exec_testing;

TEST_CASE("an allowed program runs and its stdout comes back in the output JSON") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"echo", "/bin/echo"}}, root));
  auto out = run(fn, json{{"argv", {"echo", "hello", "world"}}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  CHECK(out.output.starts_with(R"({"exit_code":0,"signal":null,"stdout":"hello world\n",)"));
  auto doc = json::parse(out.output);
  CHECK(doc["stderr"] == "");
  CHECK(doc["stdout_truncated"] == false);
  CHECK(doc["stderr_truncated"] == false);
  CHECK(doc["duration_ms"].is_number_integer());
  CHECK(root.empty());
}

TEST_CASE("a program that is not on the allow-list is refused and never runs") {
  test_dir root;
  test_dir scratch;
  auto marker = scratch.path() / "marker";
  auto fn =
    ac::handlers::make_exec_handler(config({{"echo", "/bin/echo"}, {"ls", "/bin/ls"}}, root));
  auto out = run(fn, json{{"argv", {"touch", marker.string()}}});
  CHECK(out.what == ac::outcome::kind::fail);
  CHECK(out.error_type == "not_allowed");
  CHECK(out.error
        == R"(program "touch" is not on the allow-list of this role (allowed: echo, ls))");
  CHECK_FALSE(fs::exists(marker));
  CHECK(root.empty());
}

TEST_CASE("the child sees a scrubbed environment, not the worker's") {
  ::setenv("SMITH_SECRET_TEST", "hunter2", 1);
  ::setenv("SMITH_KEEP_TEST", "kept", 1);
  test_dir root;
  auto cfg = config({{"env", "/usr/bin/env"}}, root);
  auto fn = ac::handlers::make_exec_handler(cfg);
  auto out = run(fn, json{{"argv", {"env"}}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  auto vars = lines(json::parse(out.output)["stdout"].get<std::string>());
  REQUIRE(vars.size() == 4);
  CHECK(vars[0].starts_with("HOME=" + root.path().string() + "/smith-exec-"));
  CHECK(vars[1] == "LANG=C.UTF-8");
  CHECK(vars[2] == "PATH=/usr/bin:/bin");
  CHECK(vars[3] == "TMPDIR=" + vars[0].substr(5));
  CHECK(out.output.find("hunter2") == std::string::npos);

  SUBCASE("keep_env passes a named worker variable and env sets only env_allow names") {
    cfg.keep_env = {"SMITH_KEEP_TEST"};
    cfg.env_allow = {"GREETING"};
    fn = ac::handlers::make_exec_handler(cfg);
    out = run(fn, json{{"argv", {"env"}}, {"env", {{"GREETING", "hi"}}}});
    REQUIRE(out.what == ac::outcome::kind::succeeded);
    auto text = json::parse(out.output)["stdout"].get<std::string>();
    CHECK(text.find("SMITH_KEEP_TEST=kept\n") != std::string::npos);
    CHECK(text.find("GREETING=hi\n") != std::string::npos);
    CHECK(text.find("SMITH_SECRET_TEST") == std::string::npos);
    out = run(fn, json{{"argv", {"env"}}, {"env", {{"SMITH_SECRET_TEST", "x"}}}});
    CHECK(out.what == ac::outcome::kind::fail);
    CHECK(out.error_type == "not_allowed");
    CHECK(out.error.find("\"SMITH_SECRET_TEST\"") != std::string::npos);
  }
  ::unsetenv("SMITH_SECRET_TEST");
  ::unsetenv("SMITH_KEEP_TEST");
}

TEST_CASE("the child runs in a fresh empty temp dir that is removed afterwards") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  // A locked directory left behind must not defeat the clean-up.
  auto out = run(fn, json{{"argv", {"sh", "-c", "pwd; ls -A; mkdir -p a/b && chmod 000 a/b a"}}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  auto printed = lines(json::parse(out.output)["stdout"].get<std::string>());
  REQUIRE(printed.size() == 1); // pwd's line; ls -A printed nothing
  fs::path cwd = printed[0];
  CHECK(cwd.parent_path() == root.path());
  CHECK(cwd.filename().string().starts_with("smith-exec-"));
  CHECK_FALSE(fs::exists(cwd));
  CHECK(root.empty());
}

TEST_CASE("the child inherits stdin, stdout and stderr and no other descriptor") {
  test_dir root;
  int leaky = ::open("/dev/null", O_RDONLY); // no O_CLOEXEC on purpose
  REQUIRE(leaky >= 0);
  auto fn = ac::handlers::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  // The glob's own directory descriptor is listed too, but is gone by the time of the test.
  auto script = R"(for f in /proc/$$/fd/*; do if [ -e "$f" ]; then echo "${f##*/}"; fi; done)";
  auto out = run(fn, json{{"argv", {"sh", "-c", script}}});
  ::close(leaky);
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  CHECK(json::parse(out.output)["stdout"] == "0\n1\n2\n");
}

TEST_CASE("stdin comes from the payload, and from /dev/null without it") {
  test_dir root;
  auto fn =
    ac::handlers::make_exec_handler(config({{"cat", "/bin/cat"}, {"echo", "/bin/echo"}}, root));
  auto out = run(fn, json{{"argv", {"cat"}}, {"stdin", "line 1\nline 2\n"}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  CHECK(json::parse(out.output)["stdout"] == "line 1\nline 2\n");
  out = run(fn, json{{"argv", {"cat"}}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  CHECK(json::parse(out.output)["stdout"] == "");
  // Far more than a pipe holds, to a program that never reads it: nothing blocks.
  out = run(fn, json{{"argv", {"echo", "ok"}}, {"stdin", std::string(1 << 20, 'x')}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  CHECK(json::parse(out.output)["stdout"] == "ok\n");
  CHECK(root.empty());
}

TEST_CASE("output beyond max_output_bytes is dropped and marked while the child runs on") {
  test_dir root;
  auto cfg = config({{"head", "/usr/bin/head"}, {"yes", "/usr/bin/yes"}}, root);
  cfg.max_output_bytes = 4096;
  auto fn = ac::handlers::make_exec_handler(cfg);
  // 1 MB through a 64 KiB pipe: head only finishes if we keep reading past the cap.
  auto out = run(fn, json{{"argv", {"head", "-c", "1000000", "/dev/zero"}}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  auto doc = json::parse(out.output);
  CHECK(doc["stdout"].get<std::string>() == std::string(4096, '\0'));
  CHECK(doc["stdout_truncated"] == true);
  CHECK(doc["stderr_truncated"] == false);

  SUBCASE("a program that never stops writing is stopped by its timeout, output bounded") {
    out = run(fn, json{{"argv", {"yes"}}, {"timeout_ms", 200}});
    CHECK(out.what == ac::outcome::kind::retry);
    CHECK(out.error_type == "timeout");
    doc = json::parse(out.output);
    CHECK(doc["stdout"].get<std::string>().size() == 4096);
    CHECK(doc["stdout_truncated"] == true);
    CHECK(doc["signal"] == SIGKILL);
    CHECK(doc["exit_code"].is_null());
  }
}

TEST_CASE("a timeout kills the child and every process in its group, and may be retried") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  auto out = run(fn, json{{"argv", {"sh", "-c", "sleep 300 & sleep 300 & echo $$; wait"}},
                          {"timeout_ms", 1000}});
  CHECK(out.what == ac::outcome::kind::retry);
  CHECK(out.error_type == "timeout");
  CHECK(out.error.find("within 1000 ms") != std::string::npos);
  auto printed = json::parse(out.output)["stdout"].get<std::string>();
  REQUIRE_FALSE(printed.empty());
  auto pgid = static_cast<pid_t>(std::stoi(printed));
  CHECK(group_gone(pgid));
  CHECK(root.empty());
}

TEST_CASE("a timeout_ms above max_timeout is capped at max_timeout") {
  test_dir root;
  auto cfg = config({{"sleep", "/bin/sleep"}}, root);
  cfg.timeout = 100ms;
  cfg.max_timeout = 300ms;
  auto fn = ac::handlers::make_exec_handler(cfg);
  auto out = run(fn, json{{"argv", {"sleep", "30"}}, {"timeout_ms", 600000}});
  CHECK(out.error_type == "timeout");
  CHECK(out.error.find("within 300 ms") != std::string::npos);
  CHECK(json::parse(out.output)["duration_ms"].get<int>() < 10000);
}
