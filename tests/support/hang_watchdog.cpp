// The watchdog's report: gdb for our threads and other children's, SIGQUIT for a nats-server
// (Go prints its goroutines on it), all to stderr, then exit.
#include "support/hang_watchdog.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

extern char** environ; // NOLINT(readability-redundant-declaration): posix_spawn needs it

namespace smith::testing {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void say(const std::string& text) {
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
}

// Child processes of this process, from /proc (a direct child's stat names us as its parent).
std::vector<pid_t> children() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{"/proc", ec}) {
    const auto name = entry.path().filename().string();
    pid_t pid = 0;
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (err != std::errc{} || end != name.data() + name.size())
      continue;
    std::ifstream stat{entry.path() / "stat"};
    std::string text{std::istreambuf_iterator<char>{stat}, {}};
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the
    // last ')'.
    auto close = text.rfind(')');
    if (close == std::string::npos)
      continue;
    char state = 0;
    pid_t parent = 0;
    if (std::sscanf(text.c_str() + close + 1, " %c %d", &state, &parent) == 2 && parent == getpid()
        && state != 'Z')
      out.push_back(pid);
  }
  return out;
}

std::string link_of(pid_t pid, const char* what) {
  std::error_code ec;
  auto target = fs::read_symlink(fs::path{"/proc"} / std::to_string(pid) / what, ec);
  return ec ? std::string{} : target.string();
}

// Waits for a process to end, our child or not, up to `limit`. Sleeping is right here: this is
// the watchdog's own thread reporting a hang, and nothing else can wake it.
bool wait_gone(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    auto r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD && kill(pid, 0) != 0))
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

void print_threads(pid_t pid) {
  const auto target = std::to_string(pid);
  std::vector<std::string> args{"gdb",
                                "-p",
                                target,
                                "-batch",
                                "-nx",
                                "-ex",
                                "set pagination off",
                                "-ex",
                                "thread apply all bt"};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  pid_t gdb = -1;
  auto rc = posix_spawnp(&gdb, "gdb", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    say("hang watchdog: cannot run gdb for process " + target + ": "
        + std::system_category().message(rc) + " (install gdb to see thread stacks)\n");
    return;
  }
  if (!wait_gone(gdb, 120s)) {
    kill(gdb, SIGKILL);
    say("hang watchdog: gdb on process " + target + " took over 120 s; killed it\n");
  }
}

void dump_server(pid_t pid, const std::string& log) {
  std::error_code ec;
  auto from = log.empty() ? 0 : fs::file_size(log, ec);
  if (ec)
    from = 0;
  kill(pid, SIGQUIT);
  if (!wait_gone(pid, 10s))
    say("hang watchdog: nats-server " + std::to_string(pid) + " still runs 10 s after SIGQUIT\n");
  std::ifstream in{log};
  if (!in) {
    say("hang watchdog: cannot read the log of nats-server " + std::to_string(pid) + " (" + log
        + ")\n");
    return;
  }
  in.seekg(static_cast<std::streamoff>(from));
  say("hang watchdog: nats-server " + std::to_string(pid) + " goroutines (from " + log + "):\n"
      + std::string{std::istreambuf_iterator<char>{in}, {}} + "\n");
}

} // namespace

std::chrono::seconds test_case_limit() {
  const char* text = std::getenv("SMITH_TEST_CASE_LIMIT");
  if (text == nullptr || *text == '\0')
    return 120s;
  std::string_view value{text};
  long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc{} || end != value.data() + value.size() || seconds < 1)
    throw std::invalid_argument("SMITH_TEST_CASE_LIMIT must be a whole number of seconds, at "
                                "least 1; got \""
                                + std::string{value} + "\"");
  return std::chrono::seconds{seconds};
}

hang_watchdog::hang_watchdog(std::chrono::seconds limit) : limit_(limit) {
  // Before any thread: children inherit it, and a Go program's SIGQUIT dump then shows every
  // goroutine, not only the one that took the signal.
  setenv("GOTRACEBACK", "all", 0);
  // gdb runs as our child; where Yama restricts ptrace to ancestors, this lets it attach.
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
  thread_ = std::thread{[this] { run(); }};
}

hang_watchdog::~hang_watchdog() {
  {
    std::lock_guard lock{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void hang_watchdog::started(std::string test_case) {
  std::lock_guard lock{mtx_};
  case_ = std::move(test_case);
  since_ = std::chrono::steady_clock::now();
  cv_.notify_all();
}

void hang_watchdog::ended() {
  std::lock_guard lock{mtx_};
  since_.reset();
  cv_.notify_all();
}

void hang_watchdog::run() {
  std::unique_lock lock{mtx_};
  for (;;) {
    if (stop_)
      return;
    if (!since_) {
      cv_.wait(lock, [this] { return stop_ || since_.has_value(); });
      continue;
    }
    auto started = *since_;
    auto deadline = started + limit_;
    cv_.wait_until(lock, deadline, [&] { return stop_ || since_ != started; });
    if (!stop_ && since_ == started && std::chrono::steady_clock::now() >= deadline) {
      auto name = case_;
      lock.unlock();
      report(name, std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now()
                                                                    - started));
    }
  }
}

void hang_watchdog::report(const std::string& test_case, std::chrono::seconds ran) {
  say("\nhang watchdog: test case \"" + test_case + "\" has run " + std::to_string(ran.count())
      + " s, over the limit of " + std::to_string(limit_.count())
      + " s (SMITH_TEST_CASE_LIMIT); the stacks of this process and its children follow\n");
  print_threads(getpid());
  for (auto pid : children()) {
    auto exe = fs::path{link_of(pid, "exe")}.filename().string();
    if (exe.rfind("nats-server", 0) == 0) {
      dump_server(pid, link_of(pid, "fd/2"));
    } else if (exe != "gdb") {
      say("hang watchdog: child process " + std::to_string(pid) + " (" + exe + "):\n");
      print_threads(pid);
    }
  }
  say("hang watchdog: ending the run: test case \"" + test_case + "\" hung\n");
  std::_Exit(1);
}

} // namespace smith::testing
