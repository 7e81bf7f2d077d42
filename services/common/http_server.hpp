// The service's HTTP side on :8080: /health (liveness), /ready (readiness), /metrics
// (Prometheus text), and the routes a service adds: /v1/ (JSON), streams (Server-Sent Events,
// the gateway's /mcp) and files from memory (the dashboard). It runs threads of its own.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace smith::services::common {

/// A request to the API under /v1/, as the route handler sees it.
struct http_request {
  std::string method;
  std::string path;
  std::string body;
  std::string authorization; ///< the Authorization header, empty when absent
  std::map<std::string, std::string> query;
  std::string idempotency_key; ///< the Idempotency-Key header, empty when absent
  std::string traceparent;     ///< the traceparent header (W3C trace context), empty when absent
};

struct http_reply {
  int status = 200;
  std::string body;  ///< JSON
  std::string allow; ///< the Allow header, with 405 (RFC 9110 §15.5.6: it must be sent)
};

/// A request to a streaming route (the gateway's /mcp, a stream_route), as its handler sees it.
struct stream_request {
  std::string method;
  std::map<std::string, std::string> headers; ///< names lower-cased
  std::string body;
  std::string path; ///< decoded, as routed
  std::map<std::string, std::string> query;
};

/// Its answer: a body, or, when `chunks` is set, a body written piece by piece as it comes
/// (Server-Sent Events): `chunks` runs on the serving thread and its `write` returns false once
/// the client has gone.
struct stream_reply {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string content_type = "application/json";
  std::string body;
  std::function<void(const std::function<bool(std::string_view)>& write)> chunks;
};

/// A route answered by a stream_reply, matched on the whole path by `pattern` (a regular
/// expression), before /v1/.
struct stream_route {
  /// How many requests it may serve at once.
  enum class bound {
    api_slots, ///< shares the /v1 slots (api_slots)
    own,       ///< its own `slots`; past them 503 `busy` naming `busy_detail`
    none,      ///< unbounded: quick answers from memory, as the probes
  };
  std::string pattern;
  std::function<stream_reply(const stream_request&)> serve;
  bound limit = bound::api_slots;
  int slots = 0;
  std::string busy_detail;
};

struct http_endpoints {
  std::function<bool()> healthy;
  std::function<bool()> ready;
  std::function<std::string()> metrics;
  /// Serves every method under /v1/ when set (the orchestrator's API).
  std::function<http_reply(const http_request&)> api;
  /// Serves every method on `stream_path` when set, within the same slots as /v1.
  std::string stream_path;
  std::function<stream_reply(const stream_request&)> stream;
  /// More streaming routes, tried in this order before /v1/ (every method reaches them).
  std::vector<stream_route> routes;
  /// What a 404 answer suggests ("/health, /ready, /metrics or /v1/"); derived when empty.
  std::string not_found_hint;
  /// Larger request bodies are refused with 413 before they are read.
  std::size_t max_body_bytes = std::size_t{1024} * 1024;
  /// The setting a 413 answer names.
  std::string max_body_setting = "SMITH_API_MAX_BODY";
};

class http_server {
public:
  /// Threads serving connections, and how many of them may be in /v1 at once (past it /v1
  /// answers 503 `busy`): the rest always serve /health, /ready and /metrics.
  static constexpr int server_threads = 32;
  static constexpr int api_slots = 16;
  /// Threads of a server without /v1 (a worker's).
  static constexpr int probe_threads = 4;

  /// Binds `host:port` (port 0 picks a free one) and serves on a thread. Throws
  /// std::runtime_error naming the address when it cannot bind.
  http_server(const std::string& host, int port, const http_endpoints& endpoints);
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  int port() const noexcept {
    return port_;
  }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int port_ = 0;
};

/// GET `url`; returns the status code, or 0 when nothing answered. For `smith health`.
int http_get_status(const std::string& url, int timeout_ms);

} // namespace smith::services::common
