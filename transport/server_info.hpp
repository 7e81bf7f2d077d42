// The version of the nats-server a connection talks to. nats.c 3.4.1 keeps the server's INFO to
// itself, so the version is read from a second, short-lived TCP connection to the same URL: a
// NATS server sends its INFO line in plain text before anything else (TLS comes after it).
#pragma once

#include "transport/expected.hpp"

#include <chrono>
#include <compare>
#include <string>
#include <string_view>

namespace smith::transport {

struct server_version {
  int major = 0;
  int minor = 0;
  int patch = 0;

  auto operator<=>(const server_version&) const = default;
  std::string str() const;
};

/// The oldest nats-server release MisterSmith supports (docs/WIRE.md, "Server").
inline constexpr server_version minimum_server_version{2, 14, 0};

/// "2.15.1", "v2.14.0-RC.1" → the numbers; anything else → nullopt.
std::optional<server_version> parse_server_version(std::string_view text);

/// Reads the INFO line the server at `url` (nats://host:port or tls://host:port) sends first,
/// and returns its "version".
expected<server_version> probe_server_version(const std::string& url,
                                              std::chrono::milliseconds timeout);

/// An error naming both versions when `have` is older than `need`, for `feature` (empty: the
/// whole of MisterSmith).
expected<void> require_server(const server_version& have, const server_version& need,
                              std::string_view feature = {});

} // namespace smith::transport
