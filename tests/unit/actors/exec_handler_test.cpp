// The built-in exec handler: allow-list, scrubbed environment, temp directory, output caps,
// timeouts and cancels that leave no process behind, and payload checks. Runs real programs
// from /bin and /usr/bin; never sleeps to synchronise.
#include "actors/exec_handler.hpp"

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

#include <fcntl.h>
#include <unistd.h>

namespace ac = smith::actors;
namespace tp = smith::transport;
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using smith::testing::wait_until;

static_assert(std::is_aggregate_v<ac::exec_config>);

namespace {

/// A directory of the test's own: the handler's work_root, or a place for marker files.
class test_dir {
public:
  test_dir() {
    auto name = (fs::temp_directory_path() / "exec-handler-test-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }

  ~test_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }

  test_dir(const test_dir&) = delete;
  test_dir& operator=(const test_dir&) = delete;

  const fs::path& path() const {
    return path_;
  }

  /// After every run: the handler left neither its temp dir nor a stdin file behind.
  bool empty() const {
    return fs::is_empty(path_);
  }

private:
  fs::path path_;
};

ac::exec_config config(std::map<std::string, std::string> allow, const test_dir& root) {
  ac::exec_config cfg;
  cfg.allow = std::move(allow);
  cfg.timeout = 20s;
  cfg.work_root = root.path();
  return cfg;
}

ac::outcome run(const ac::handler_fn& fn, const std::string& payload,
                const std::atomic<bool>& cancel) {
  tp::task task{.id = "t-1", .type = "exec", .payload = payload};
  ac::task_context ctx{task, 1, cancel};
  return fn(ctx);
}

ac::outcome run(const ac::handler_fn& fn, const json& payload) {
  std::atomic<bool> cancel{false};
  return run(fn, payload.dump(), cancel);
}

/// Members of process group `pgid` that have not ended. A killed orphan stays a zombie until
/// init reaps it, and kill(-pgid, 0) still finds zombies: they are dead, so they do not count.
std::vector<pid_t> live_members(pid_t pgid) {
  std::vector<pid_t> live;
  std::error_code ec;
  for (fs::directory_iterator it{"/proc", ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit))
      continue;
    std::ifstream in{it->path() / "stat"};
    std::string stat;
    std::getline(in, stat);
    auto paren = stat.rfind(')'); // the command name may hold spaces and parentheses
    if (paren == std::string::npos || paren + 2 >= stat.size())
      continue;
    std::istringstream fields{stat.substr(paren + 2)};
    char state = 0;
    pid_t ppid = 0;
    pid_t pgrp = 0;
    fields >> state >> ppid >> pgrp;
    if (fields && pgrp == pgid && state != 'Z' && state != 'X')
      live.push_back(std::stoi(name));
  }
  return live;
}

bool group_gone(pid_t pgid) {
  return wait_until([pgid] { return live_members(pgid).empty(); }, 10s);
}

std::string read_file(const fs::path& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

} // namespace

TEST_CASE("an allowed program runs and its stdout comes back in the output JSON") {
  test_dir root;
  auto fn = ac::make_exec_handler(config({{"echo", "/bin/echo"}}, root));
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
  auto fn = ac::make_exec_handler(config({{"echo", "/bin/echo"}, {"ls", "/bin/ls"}}, root));
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
  auto fn = ac::make_exec_handler(cfg);
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
    fn = ac::make_exec_handler(cfg);
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
  auto fn = ac::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
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
  auto fn = ac::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  // The glob's own directory descriptor is listed too, but is gone by the time of the test.
  auto script = R"(for f in /proc/$$/fd/*; do if [ -e "$f" ]; then echo "${f##*/}"; fi; done)";
  auto out = run(fn, json{{"argv", {"sh", "-c", script}}});
  ::close(leaky);
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  CHECK(json::parse(out.output)["stdout"] == "0\n1\n2\n");
}

TEST_CASE("stdin comes from the payload, and from /dev/null without it") {
  test_dir root;
  auto fn = ac::make_exec_handler(config({{"cat", "/bin/cat"}, {"echo", "/bin/echo"}}, root));
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
  auto fn = ac::make_exec_handler(cfg);
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
  auto fn = ac::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
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
  auto fn = ac::make_exec_handler(cfg);
  auto out = run(fn, json{{"argv", {"sleep", "30"}}, {"timeout_ms", 600000}});
  CHECK(out.error_type == "timeout");
  CHECK(out.error.find("within 300 ms") != std::string::npos);
  CHECK(json::parse(out.output)["duration_ms"].get<int>() < 10000);
}

TEST_CASE("a child that exits while its background children hold the pipes does not hang us") {
  test_dir root;
  auto fn = ac::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
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
  auto fn = ac::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
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
  auto fn = ac::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
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
  auto fn = ac::make_exec_handler(config({{"ghost", "/nonexistent/ghost"}}, root));
  auto out = run(fn, json{{"argv", {"ghost"}}});
  CHECK(out.what == ac::outcome::kind::fail);
  CHECK(out.error_type == "spawn_failed");
  CHECK(out.error.find("execve: No such file or directory") != std::string::npos);
  CHECK(root.empty());
}

TEST_CASE("invalid UTF-8 in the output is replaced so that the result stays valid JSON") {
  test_dir root;
  auto fn = ac::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  auto out = run(fn, json{{"argv", {"sh", "-c", R"(printf 'a\377b')"}}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  CHECK(json::parse(out.output)["stdout"]
        == "a\xEF\xBF\xBD"
           "b");
}

TEST_CASE("payloads that are not a well-formed exec request are refused as bad_payload") {
  test_dir root;
  auto fn = ac::make_exec_handler(config({{"echo", "/bin/echo"}}, root));
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
  CHECK_THROWS_AS(ac::make_exec_handler(config({{"echo", "echo"}}, root)), std::invalid_argument);
  auto cfg = config({{"echo", "/bin/echo"}}, root);
  cfg.timeout = 2h;
  CHECK_THROWS_AS(ac::make_exec_handler(cfg), std::invalid_argument);
  cfg = config({{"echo", "/bin/echo"}}, root);
  cfg.work_root = root.path() / "missing";
  CHECK_THROWS_AS(ac::make_exec_handler(cfg), std::invalid_argument);
}

TEST_CASE("concurrent runs neither interfere nor leak descriptors into the worker") {
  test_dir root;
  auto fn = ac::make_exec_handler(config({{"echo", "/bin/echo"}}, root));
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
