// What an exec'd program cannot do: outlive its task by leaving the process group (setsid),
// gain privileges through exec, exceed its resource limits, read the worker's side of the run;
// and what the roles allow by default. Each program tries, and the test proves it failed.
#include "actors/handlers/exec_handler.hpp"
#include "actors/handlers/role_policy.hpp"

#include "exec_harness.hpp"

#include <map>

using namespace exec_testing;

namespace {

/// True while `pid` is a live process (not a zombie) running `comm`.
bool alive(pid_t pid, const std::string& comm) {
  auto stat = read_file(fs::path{"/proc"} / std::to_string(pid) / "stat");
  auto open = stat.find('(');
  auto close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size())
    return false;
  char state = stat[close + 2];
  return stat.substr(open + 1, close - open - 1) == comm && state != 'Z' && state != 'X';
}

/// The soft limits of /proc/self/limits as the program saw them: "Max open files" -> "64".
std::map<std::string, std::string> soft_limits(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& line : lines(text)) {
    if (!line.starts_with("Max ") || line.size() < 26)
      continue;
    auto name = line.substr(0, 26);
    name.erase(name.find_last_not_of(' ') + 1);
    std::istringstream rest{line.substr(26)};
    std::string soft;
    rest >> soft;
    out[name] = soft;
  }
  return out;
}

/// Shell: waits until the last background job runs `comm`, then prints its pid.
std::string started(const std::string& comm) {
  return "pid=$!; while read c < /proc/$pid/comm && [ \"$c\" != " + comm
         + " ]; do :; done; echo $pid";
}

} // namespace

TEST_CASE("a program that leaves its process group with setsid dies with the task anyway") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  SUBCASE("when the program exits") {
    auto out = run(fn, json{{"argv", {"sh", "-c", "setsid sleep 301 & " + started("sleep")}}});
    REQUIRE(out.what == ac::outcome::kind::succeeded);
    auto pid = static_cast<pid_t>(std::stoi(json::parse(out.output)["stdout"].get<std::string>()));
    CHECK(wait_until([&] { return !alive(pid, "sleep"); }, 10s));
  }
  SUBCASE("when it times out, with a grandchild that left too") {
    auto script = "setsid sh -c 'sleep 302 & exec sleep 303' & " + started("sleep") + "; wait";
    auto out = run(fn, json{{"argv", {"sh", "-c", script}}, {"timeout_ms", 1000}});
    CHECK(out.error_type == "timeout");
    auto pid = static_cast<pid_t>(std::stoi(json::parse(out.output)["stdout"].get<std::string>()));
    CHECK(wait_until([&] { return !alive(pid, "sleep"); }, 10s));
    // Nothing of the run is left: no sleep 302/303 anywhere below this test.
    std::error_code ec;
    for (fs::directory_iterator it{"/proc", ec}, end; !ec && it != end; it.increment(ec)) {
      auto cmdline = read_file(it->path() / "cmdline");
      for (const char* seconds : {"302", "303"}) // argv "sleep", "30x" in /proc/<pid>/cmdline
        CHECK_MESSAGE(cmdline.find(std::string{"sleep"} + '\0' + seconds) == std::string::npos,
                      cmdline);
    }
  }
}

TEST_CASE("a program runs with no_new_privs and its resource limits") {
  test_dir root;
  auto cfg = config({{"sh", "/bin/sh"}}, root);
  cfg.limits.address_space_bytes = std::uint64_t{512} << 20;
  cfg.limits.open_files = 64;
  cfg.limits.processes = 100;
  cfg.limits.file_size_bytes = std::uint64_t{1} << 20;
  auto fn = ac::handlers::make_exec_handler(cfg);
  auto out =
    run(fn, json{{"argv", {"sh", "-c", "grep NoNewPrivs /proc/self/status; cat /proc/self/limits"}},
                 {"timeout_ms", 4500}});
  REQUIRE(out.what == ac::outcome::kind::succeeded);
  auto printed = json::parse(out.output)["stdout"].get<std::string>();
  CHECK(printed.find("NoNewPrivs:\t1") != std::string::npos);
  auto limits = soft_limits(printed);
  CHECK(limits["Max cpu time"] == "6"); // the timeout rounded up, plus one
  CHECK(limits["Max address space"] == std::to_string(std::uint64_t{512} << 20));
  CHECK(limits["Max open files"] == "64");
  CHECK(limits["Max processes"] == "100");
  CHECK(limits["Max file size"] == std::to_string(std::uint64_t{1} << 20));
  CHECK(limits["Max core file size"] == "0");

  // A limit is enforced, not only set: a file past 1 MiB is cut by SIGXFSZ.
  auto big = run(fn, json{{"argv", {"sh", "-c", "head -c 2000000 /dev/zero > big; echo $?"}}});
  REQUIRE(big.what == ac::outcome::kind::succeeded);
  CHECK(json::parse(big.output)["stdout"] == std::to_string(128 + SIGXFSZ) + "\n");
}

TEST_CASE("a program cannot read the environment of the process that started it") {
  test_dir root;
  auto fn = ac::handlers::make_exec_handler(config({{"sh", "/bin/sh"}}, root));
  auto out = run(fn, json{{"argv", {"sh", "-c", "cat /proc/$PPID/environ"}}});
  // Root (CAP_SYS_PTRACE) reads any process: the test is only meaningful as another user.
  if (::geteuid() == 0) {
    MESSAGE("running as root: the keeper's environ is readable with CAP_SYS_PTRACE");
    return;
  }
  CHECK(out.what == ac::outcome::kind::fail);
  CHECK(json::parse(out.output)["stderr"].get<std::string>().find("Permission denied")
        != std::string::npos);
}

TEST_CASE("the roles allow no interpreter or compiler by default; limits come from settings") {
  namespace ah = ac::handlers;
  CHECK(ah::exec_allow_list("compile", nullptr).empty());
  for (const char* role : {"compile", "analyze", "execute"})
    for (const auto& [name, path] : ah::exec_allow_list(role, nullptr))
      for (const char* banned : {"python3", "perl", "sh", "bash", "gcc", "g++", "cc", "make"})
        CHECK_MESSAGE(name != banned, role << " allows " << name);
  auto allowed = ah::exec_allow_list("execute", "python3=/usr/bin/python3");
  CHECK(allowed.at("python3") == "/usr/bin/python3");

  ::setenv("SMITH_EXEC_MAX_MEMORY_MB", "100", 1);
  ::setenv("SMITH_EXEC_MAX_PROCS", "7", 1);
  auto limits = ah::exec_limits_from_env();
  CHECK(limits.address_space_bytes == std::uint64_t{100} << 20);
  CHECK(limits.processes == 7);
  CHECK(limits.open_files == ah::child_limits{}.open_files);
  for (const char* bad : {"0", "-1", "12x", "99999999999999999999"}) {
    ::setenv("SMITH_EXEC_MAX_PROCS", bad, 1);
    CHECK_THROWS_WITH_AS(ah::exec_limits_from_env(), doctest::Contains("SMITH_EXEC_MAX_PROCS"),
                         std::invalid_argument);
  }
  ::unsetenv("SMITH_EXEC_MAX_MEMORY_MB");
  ::unsetenv("SMITH_EXEC_MAX_PROCS");
}
