#include "services/common/http_server.hpp"

#include <sys/socket.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace smith::services::common {

struct http_server::impl {
  httplib::Server server;
  std::thread thread;
};

http_server::http_server(const std::string& host, int port, const http_endpoints& ep)
  : impl_(std::make_unique<impl>()) {
  auto& srv = impl_->server;
  auto answer = [](httplib::Response& res, bool ok, const char* what) {
    res.status = ok ? 200 : 503;
    res.set_content(std::string{R"({"status":")"} + (ok ? "ok" : what) + "\"}", "application/json");
  };
  srv.Get("/health", [ep, answer](const httplib::Request&, httplib::Response& res) {
    answer(res, ep.healthy(), "unhealthy");
  });
  srv.Get("/ready", [ep, answer](const httplib::Request&, httplib::Response& res) {
    answer(res, ep.ready(), "not ready");
  });
  srv.Get("/metrics", [ep](const httplib::Request&, httplib::Response& res) {
    res.set_content(ep.metrics(), "text/plain; version=0.0.4");
  });
  // At most api_slots requests in /v1 (and the stream route) at once: the other threads stay
  // free for the probes and /metrics, however slow the API gets (a stalled NATS makes each
  // wait its 5 s timeout; a tool call waits for its task).
  // A slot is a counter below its limit, held by the returned pointer until it is released.
  using slot_taker = std::function<std::shared_ptr<void>(httplib::Response&)>;
  auto slots_of = [](int limit, const std::string& detail) -> slot_taker {
    auto taken = std::make_shared<std::atomic<int>>(0);
    auto busy = nlohmann::json{{"error", "busy"}, {"detail", detail}}.dump();
    return [taken, limit, busy](httplib::Response& res) -> std::shared_ptr<void> {
      if (taken->fetch_add(1) >= limit) {
        taken->fetch_sub(1);
        res.status = 503;
        res.set_header("Retry-After", "1");
        res.set_content(busy, "application/json");
        return nullptr;
      }
      return {static_cast<void*>(taken.get()), [taken](void*) { taken->fetch_sub(1); }};
    };
  };
  auto take_slot = slots_of(api_slots, std::to_string(api_slots)
                                         + " requests are being served; retry in a second");
  // A method with a body reads it itself: `curl -X POST .../cancel` sends no Content-Length,
  // and the library refuses such a request with 400 when it reads the body up front.
  // What a 413 answer says (the body is JSON: the setting's name is plain letters).
  auto too_large_body = R"({"error":"payload_too_large","detail":"the request body is over the )"
                        "limit ("
                        + ep.max_body_setting + R"x()"})x";
  auto with_body = [limit = ep.max_body_bytes, too_large_body](auto answer) {
    return [answer, limit, too_large_body](const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& read) {
      std::string body;
      bool too_large =
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > limit;
      if (!too_large && (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")))
        read([&](const char* data, std::size_t n) {
          too_large = body.size() + n > limit;
          if (!too_large)
            body.append(data, n);
          return !too_large;
        });
      if (too_large) {
        res.status = 413;
        res.set_content(too_large_body, "application/json");
        return;
      }
      answer(req, res, std::move(body));
    };
  };
  // The streaming routes first: "/v1/stream/..." is tried before "/v1/.*".
  auto routes = ep.routes;
  if (ep.stream)
    routes.push_back({ep.stream_path, ep.stream, stream_route::bound::api_slots, 0, {}});
  for (const auto& route : routes) {
    slot_taker take;
    if (route.limit == stream_route::bound::api_slots)
      take = take_slot;
    else if (route.limit == stream_route::bound::own)
      take = slots_of(route.slots, route.busy_detail);
    auto answer = [serve = route.serve, take](const httplib::Request& req, httplib::Response& res,
                                              std::string body) {
      std::shared_ptr<void> slot;
      if (take && !(slot = take(res)))
        return;
      stream_request r{req.method, {}, std::move(body), req.path, {}};
      for (const auto& [name, value] : req.headers) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        r.headers[lower] = value;
      }
      for (const auto& [k, v] : req.params)
        r.query[k] = v;
      auto reply = serve(r);
      res.status = reply.status;
      for (const auto& [name, value] : reply.headers)
        res.set_header(name, value);
      if (!reply.chunks) {
        if (!reply.body.empty())
          res.set_content(reply.body, reply.content_type);
        return;
      }
      // The slot is held until the stream ends, on the thread that writes it.
      res.set_chunked_content_provider(reply.content_type, [chunks = std::move(reply.chunks), slot](
                                                             std::size_t, httplib::DataSink& sink) {
        chunks([&sink](std::string_view piece) { return sink.write(piece.data(), piece.size()); });
        sink.done();
        return true;
      });
    };
    auto serve = [answer](const httplib::Request& req, httplib::Response& res) {
      answer(req, res, req.body);
    };
    auto serve_body = with_body(answer);
    srv.Get(route.pattern, serve);
    srv.Post(route.pattern, serve_body);
    srv.Delete(route.pattern, serve_body);
    srv.Put(route.pattern, serve_body);
    srv.Patch(route.pattern, serve_body);
    srv.Options(route.pattern, serve);
  }
  if (ep.api) {
    auto answer = [ep, take_slot](const httplib::Request& req, httplib::Response& res,
                                  std::string body) {
      auto slot = take_slot(res);
      if (!slot)
        return;
      // HEAD is GET without the body (the library leaves the body out).
      http_request r{req.method == "HEAD" ? "GET" : req.method,
                     req.path,
                     std::move(body),
                     req.get_header_value("Authorization"),
                     {}};
      for (const auto& [k, v] : req.params)
        r.query[k] = v;
      r.idempotency_key = req.get_header_value("Idempotency-Key");
      r.traceparent = req.get_header_value("traceparent");
      auto reply = ep.api(r);
      res.status = reply.status;
      if (!reply.allow.empty())
        res.set_header("Allow", reply.allow);
      res.set_content(reply.body, "application/json");
    };
    auto serve = [answer](const httplib::Request& req, httplib::Response& res) {
      answer(req, res, req.body);
    };
    auto serve_body = with_body(answer);
    // Every method the library knows reaches the API's router, which answers 405 for one a
    // path does not serve.
    const char* pattern = "/v1/.*";
    srv.Get(pattern, serve);
    srv.Post(pattern, serve_body);
    srv.Delete(pattern, serve_body);
    srv.Put(pattern, serve_body);
    srv.Patch(pattern, serve_body);
    srv.Options(pattern, serve);
  }
  srv.set_payload_max_length(ep.max_body_bytes);
  // Without /v1 (a worker) the probes and /metrics are all there is: a few threads serve them.
  srv.new_task_queue = [n = ep.api || !routes.empty() ? server_threads : probe_threads] {
    return new httplib::ThreadPool(n);
  };
  // A connection holds its thread while it idles between requests: not for long.
  srv.set_keep_alive_timeout(2);
  srv.set_read_timeout(5);
  srv.set_write_timeout(5);
  auto hint = !ep.not_found_hint.empty() ? ep.not_found_hint
              : ep.api                   ? std::string{"/health, /ready, /metrics or /v1/"}
              : ep.stream                ? "/health, /ready, /metrics or " + ep.stream_path
                                         : std::string{"/health, /ready or /metrics"};
  auto not_found = nlohmann::json{{"error", "not_found"}, {"detail", "try " + hint}}.dump();
  srv.set_error_handler(
    [not_found, too_large_body](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty())
        return;
      if (res.status == 404)
        res.set_content(not_found, "application/json");
      else if (res.status == 413)
        res.set_content(too_large_body, "application/json");
      else
        res.set_content(R"({"error":"bad_request","detail":"the request could not be read"})",
                        "application/json");
    });
  // SO_REUSEADDR alone (a restart may bind while old connections wait in TIME_WAIT).
  // cpp-httplib's default is SO_REUSEPORT, with which a second process binds the same port
  // and silently takes part of its requests.
  srv.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  port_ = port == 0 ? srv.bind_to_any_port(host) : (srv.bind_to_port(host, port) ? port : -1);
  if (port_ <= 0)
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port)
                             + ". Hint: another process holds the port; set SMITH_HTTP_PORT");
  impl_->thread = std::thread{[this] { impl_->server.listen_after_bind(); }};
}

http_server::~http_server() {
  impl_->server.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

int http_get_status(const std::string& url, int timeout_ms) {
  // url: http://host:port/path
  auto rest = url.starts_with("http://") ? url.substr(7) : url;
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  auto path = slash == std::string::npos ? std::string{"/"} : rest.substr(slash);
  httplib::Client cli{"http://" + hostport};
  cli.set_connection_timeout(std::chrono::milliseconds{timeout_ms});
  cli.set_read_timeout(std::chrono::milliseconds{timeout_ms});
  auto res = cli.Get(path);
  return res ? res->status : 0;
}

} // namespace smith::services::common
