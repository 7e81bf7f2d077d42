// Starting nats-server from a generated config and knowing when it is ready: its log says when
// each listener is bound, /healthz says when JetStream is usable.
#include "support/nats_server.hpp"

#include "support/wait.hpp"

#include <httplib.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

namespace smith::testing {

namespace {

using namespace std::chrono_literals;

std::string find_executable(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && access(candidate.c_str(), X_OK) == 0)
      return candidate.string();
  }
  throw std::runtime_error(name + " not found on PATH: run scripts/install-nats-server");
}

// SMITH_NATS_SERVER (set by the build for every test), else the first nats-server on PATH.
std::string server_executable() {
  const char* set = std::getenv("SMITH_NATS_SERVER");
  if (set == nullptr || *set == '\0')
    return find_executable("nats-server");
  if (access(set, X_OK) != 0)
    throw std::runtime_error(std::string{"SMITH_NATS_SERVER="} + set
                             + " is not an executable: run scripts/install-nats-server");
  return set;
}

std::string next_server_name() {
  static std::atomic<int> counter{0};
  return "smith-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

// A config string literal; JSON escaping is what the nats-server config parser reads.
std::string quoted(const std::string& str) {
  return nlohmann::json(str).dump();
}

std::string loopback(int port) {
  return "127.0.0.1:" + std::to_string(port);
}

// The log written since `offset`, i.e. by the current run of the server.
std::string read_from(const std::filesystem::path& file, std::streamoff offset) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(offset);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace

int free_port() {
  // Ports handed out before may be bound by a fixture that is not running right now (killed,
  // about to restart), so the kernel would happily return them again.
  static std::mutex mtx;
  static std::set<int> handed_out;
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      throw std::system_error(errno, std::generic_category(), "free_port: socket()");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      auto err = errno;
      close(fd);
      throw std::system_error(err, std::generic_category(), "free_port: bind 127.0.0.1:0");
    }
    close(fd);
    int port = ntohs(addr.sin_port);
    std::lock_guard guard{mtx};
    if (handed_out.insert(port).second)
      return port;
  }
  throw std::runtime_error("free_port: the kernel keeps returning ports handed out before");
}

// -- constructors, destructors, and assignment operators --------------------------------------

nats_server::nats_server(server_options options)
  : fixed_port_(options.port != 0), fixed_monitor_port_(options.monitor_port != 0),
    fixed_cluster_port_(options.cluster_port != 0), options_(std::move(options)),
    executable_(server_executable()), dir_("nats-server-") {
  if (options_.name.empty())
    options_.name = next_server_name();
  for (int attempt = 1;; ++attempt) {
    pick_ports();
    write_config();
    if (launch())
      return;
    if (attempt == max_start_attempts)
      fail("found its ports taken " + std::to_string(attempt) + " times in a row");
  }
}

nats_server::~nats_server() = default;

// -- properties -------------------------------------------------------------------------------

std::string nats_server::url() const {
  return "nats://" + loopback(options_.port);
}

std::filesystem::path nats_server::config_file() const {
  return store_dir() / "nats.conf";
}

std::filesystem::path nats_server::log_file() const {
  return store_dir() / "nats.log";
}

bool nats_server::running() {
  return process_.running();
}

// -- starting and stopping --------------------------------------------------------------------

void nats_server::start() {
  if (process_.running())
    throw std::logic_error("nats_server::start: " + options_.name + " runs already");
  if (!launch())
    throw port_in_use("nats-server " + options_.name + " cannot bind its ports again (" + url()
                      + ", monitor " + std::to_string(options_.monitor_port)
                      + "); last lines of its log:\n" + log_tail(20));
}

void nats_server::kill() {
  process_.kill();
}

bool nats_server::stop(std::chrono::milliseconds grace) {
  return process_.terminate(grace);
}

// -- monitoring -------------------------------------------------------------------------------

std::optional<nlohmann::json> nats_server::monitor(std::string_view path) const {
  httplib::Client client("127.0.0.1", options_.monitor_port);
  client.set_connection_timeout(0, 500'000);
  client.set_read_timeout(2, 0);
  auto res = client.Get(std::string{path});
  if (!res)
    return std::nullopt;
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  if (body.is_discarded())
    return std::nullopt;
  return body;
}

bool nats_server::healthy() const {
  httplib::Client client("127.0.0.1", options_.monitor_port);
  client.set_connection_timeout(0, 500'000);
  client.set_read_timeout(2, 0);
  auto res = client.Get("/healthz");
  return res && res->status == 200;
}

void nats_server::wait_healthy(std::chrono::milliseconds deadline) {
  bool exited = false;
  auto ok = wait_until(
    [&] {
      exited = !process_.running();
      return exited || healthy();
    },
    deadline, 50ms);
  if (exited)
    fail("exited before /healthz answered 200");
  if (!ok)
    fail("did not answer 200 on /healthz within " + std::to_string(deadline.count()) + " ms");
}

std::string nats_server::log_tail(int lines) const {
  auto text = read_from(log_file(), 0);
  auto pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n')
    --pos;
  for (int n = 0; n < lines && pos != std::string::npos && pos > 0; ++n)
    pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

// -- private helpers --------------------------------------------------------------------------

bool nats_server::launch() {
  std::error_code ec;
  auto offset = std::filesystem::file_size(log_file(), ec);
  if (ec)
    offset = 0;
  process_ = child_process::spawn({executable_, "-c", config_file().string()}, log_file());
  // The log is the only place that says a listener is bound: /healthz can answer 200 before
  // the client port is bound, and a connect to a port proves nothing if another process has it.
  std::vector<std::string> expected{
    "Starting http monitor on " + loopback(options_.monitor_port),
    "Listening for client connections on " + loopback(options_.port),
  };
  if (!options_.cluster_name.empty())
    expected.push_back("Listening for route connections on " + loopback(options_.cluster_port));
  bool exited = false;
  bool listening = false;
  auto ready = wait_until(
    [&] {
      exited = !process_.running();
      if (exited)
        return true;
      if (!listening) {
        auto log = read_from(log_file(), static_cast<std::streamoff>(offset));
        listening = true;
        for (const auto& line : expected)
          listening = listening && log.find(line) != std::string::npos;
      }
      return listening && (!options_.wait_healthy || healthy());
    },
    options_.start_timeout, 20ms);
  if (!exited && ready)
    return true;
  if (!exited)
    fail(std::string{"was not "} + (listening ? "healthy" : "listening") + " within "
         + std::to_string(options_.start_timeout.count()) + " ms");
  auto log = read_from(log_file(), static_cast<std::streamoff>(offset));
  if (log.find("address already in use") == std::string::npos)
    fail("exited during start-up");
  auto taken = [&](bool fixed, int port) {
    return fixed && log.find(loopback(port) + ":") != std::string::npos;
  };
  if (taken(fixed_port_, options_.port) || taken(fixed_monitor_port_, options_.monitor_port)
      || taken(fixed_cluster_port_, options_.cluster_port))
    throw port_in_use("nats-server " + options_.name
                      + " cannot bind a port fixed in server_options; last lines of its log:\n"
                      + log_tail(20));
  return false;
}

void nats_server::pick_ports() {
  if (!fixed_port_)
    options_.port = free_port();
  if (!fixed_monitor_port_)
    options_.monitor_port = free_port();
  if (!fixed_cluster_port_ && !options_.cluster_name.empty())
    options_.cluster_port = free_port();
}

void nats_server::write_config() const {
  std::ofstream out(config_file(), std::ios::trunc);
  out << "# Generated by smith::testing::nats_server; rewritten when the fixture is created.\n"
      << "server_name: " << quoted(options_.name) << '\n'
      << "listen: " << quoted(loopback(options_.port)) << '\n'
      << "http: " << quoted(loopback(options_.monitor_port)) << '\n';
  if (options_.jetstream)
    out << "jetstream {\n  store_dir: " << quoted(store_dir().string()) << "\n}\n";
  if (!options_.cluster_name.empty()) {
    out << "cluster {\n"
        << "  name: " << quoted(options_.cluster_name) << '\n'
        << "  listen: " << quoted(loopback(options_.cluster_port)) << '\n'
        << "  routes: [\n";
    for (auto port : options_.routes)
      out << "    " << quoted("nats-route://" + loopback(port)) << '\n';
    out << "  ]\n}\n";
  }
  out << options_.extra_config << '\n';
  if (!out.flush())
    throw std::runtime_error("cannot write " + config_file().string());
}

void nats_server::fail(const std::string& what) {
  auto exit = process_.describe_exit();
  process_.kill();
  throw std::runtime_error("nats-server " + options_.name + " (" + url() + ") " + what + " (" + exit
                           + "); last lines of " + log_file().string() + ":\n" + log_tail(20));
}

} // namespace smith::testing
