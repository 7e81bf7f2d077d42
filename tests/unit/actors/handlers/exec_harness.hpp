// A test directory, an exec config and process-group probes for the exec handler tests.
#pragma once

#include "actors/handlers/exec_handler.hpp"
#include "tests/support/wait.hpp"
#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace ac = smith::actors;
namespace tp = smith::transport;
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using smith::testing::wait_until;

namespace exec_testing {

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

inline ac::handlers::exec_config config(std::map<std::string, std::string> allow,
                                        const test_dir& root) {
  ac::handlers::exec_config cfg;
  cfg.allow = std::move(allow);
  cfg.timeout = 20s;
  cfg.work_root = root.path();
  return cfg;
}

inline ac::outcome run(const ac::handler_fn& fn, const std::string& payload,
                       const std::atomic<bool>& cancel) {
  tp::wire::task task{.id = "t-1", .type = "exec", .payload = payload};
  ac::task_context ctx{task, 1, cancel};
  return fn(ctx);
}

inline ac::outcome run(const ac::handler_fn& fn, const json& payload) {
  std::atomic<bool> cancel{false};
  return run(fn, payload.dump(), cancel);
}

/// Members of process group `pgid` that have not ended. A killed orphan stays a zombie until
/// init reaps it, and kill(-pgid, 0) still finds zombies: they are dead, so they do not count.
inline std::vector<pid_t> live_members(pid_t pgid) {
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

inline bool group_gone(pid_t pgid) {
  return wait_until([pgid] { return live_members(pgid).empty(); }, 10s);
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

} // namespace exec_testing
