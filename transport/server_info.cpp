#include "transport/server_info.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstring>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace smith::transport {

std::string server_version::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::optional<server_version> parse_server_version(std::string_view text) {
  if (text.starts_with('v'))
    text.remove_prefix(1);
  server_version v;
  int* parts[] = {&v.major, &v.minor, &v.patch};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (std::size_t i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, *parts[i]);
    if (ec != std::errc{} || *parts[i] < 0)
      return std::nullopt;
    p = next;
    if (i < 2) {
      if (p == end || *p != '.')
        return std::nullopt;
      ++p;
    }
  }
  // A pre-release or build suffix ("-RC.1", "+abc") may follow; nothing else may.
  if (p != end && *p != '-' && *p != '+')
    return std::nullopt;
  return v;
}

namespace {

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

// "nats://user:pass@host:port" → host, port.
expected<std::pair<std::string, std::string>> host_port(const std::string& url) {
  std::string_view rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string_view::npos)
    rest.remove_prefix(scheme + 3);
  if (auto at = rest.rfind('@'); at != std::string_view::npos)
    rest.remove_prefix(at + 1);
  if (auto slash = rest.find('/'); slash != std::string_view::npos)
    rest = rest.substr(0, slash);
  std::string_view host = rest;
  std::string_view port = "4222";
  if (rest.starts_with('[')) { // [::1]:4222
    auto close = rest.find(']');
    if (close == std::string_view::npos)
      return error{errc::invalid_argument, "server URL " + url + ": unclosed ["};
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':')
      port = rest.substr(close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty())
    return error{errc::invalid_argument, "server URL " + url + " has no host or port"};
  return std::pair{std::string{host}, std::string{port}};
}

} // namespace

expected<server_version> probe_server_version(const std::string& url,
                                              std::chrono::milliseconds timeout) {
  auto hp = host_port(url);
  if (!hp)
    return hp.error();
  auto what = "read the version of the server at " + url;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(hp->first.c_str(), hp->second.c_str(), &hints, &found); rc != 0)
    return error{errc::unavailable, what + ": " + ::gai_strerror(rc)};
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> hold{found, &::freeaddrinfo};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left_ms = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(left.count(), 0));
  };
  std::string last_error = "no address";
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    fd_guard s{
      ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol)};
    if (s.fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(s.fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    std::string line;
    bool failed = false;
    while (line.find("\r\n") == std::string::npos) {
      pollfd p{s.fd, POLLIN, 0};
      if (::poll(&p, 1, left_ms()) <= 0) {
        last_error = "no INFO line within " + std::to_string(timeout.count()) + " ms";
        failed = true;
        break;
      }
      char buf[4096];
      auto n = ::recv(s.fd, buf, sizeof buf, 0);
      if (n <= 0) {
        last_error = n == 0 ? "closed before its INFO line" : std::strerror(errno);
        failed = true;
        break;
      }
      line.append(buf, static_cast<std::size_t>(n));
      if (line.size() > std::size_t{64} * 1024) {
        last_error = "an INFO line over 64 KiB";
        failed = true;
        break;
      }
    }
    if (failed)
      continue;
    line.resize(line.find("\r\n"));
    if (!line.starts_with("INFO "))
      return error{errc::malformed, what + ": it did not start with INFO"};
    auto info = nlohmann::json::parse(line.substr(5), nullptr, false);
    if (!info.is_object() || !info.contains("version") || !info["version"].is_string())
      return error{errc::malformed, what + ": its INFO has no version"};
    auto text = info["version"].get<std::string>();
    auto v = parse_server_version(text);
    if (!v)
      return error{errc::malformed, what.append(": its INFO says version \"").append(text) + "\""};
    return *v;
  }
  return error{errc::unavailable, what + ": " + last_error};
}

expected<void> require_server(const server_version& have, const server_version& need,
                              std::string_view feature) {
  if (have >= need)
    return {};
  std::string msg = "the NATS server is version " + have.str() + ", but ";
  msg += feature.empty() ? std::string{"MisterSmith"} : std::string{feature};
  msg += " needs nats-server " + need.str() + " or later. Hint: upgrade the server";
  return error{errc::unsupported, msg};
}

} // namespace smith::transport
