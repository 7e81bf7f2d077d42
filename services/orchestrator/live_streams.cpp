#include "services/orchestrator/live_streams.hpp"

#include "services/common/auth.hpp"
#include "services/orchestrator/api_error.hpp"
#include "services/orchestrator/log.hpp"
#include "services/orchestrator/request_fields.hpp"

#include <utility>

namespace smith::services::orchestrator {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

common::stream_reply json_reply(int status, const json& body) {
  common::stream_reply r;
  r.status = status;
  r.body = json_text(body);
  return r;
}

common::stream_reply error_json(int status, const std::string& code, const std::string& detail) {
  return json_reply(status, json{{"error", code}, {"detail", detail}});
}

std::string event(const char* name, const json& data) {
  return std::string{"event: "} + name + "\ndata: " + json_text(data) + "\n\n";
}

json error_doc(const api_error& e) {
  return json{{"error", e.code()}, {"detail", e.what()}};
}

bool is_final(const json& status) {
  auto state = status.value("state", "");
  return state == "succeeded" || state == "failed" || state == "dead" || state == "cancelled";
}

bool wants_events(const common::stream_request& req) {
  auto it = req.headers.find("accept");
  return it != req.headers.end() && it->second.find("text/event-stream") != std::string::npos;
}

common::stream_reply event_stream() {
  common::stream_reply r;
  r.content_type = "text/event-stream";
  r.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  return r;
}

} // namespace

live_streams::live_streams(task_service& service, const throughput& counts, std::string token)
  : service_(service), counts_(counts), token_(std::move(token)) {
}

common::stream_route live_streams::route() {
  return {"/v1/stream/.*", [this](const common::stream_request& req) { return serve(req); },
          common::stream_route::bound::own, max_clients,
          std::to_string(max_clients) + " live streams are open; retry later"};
}

void live_streams::stop() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  wake_.notify_all();
}

bool live_streams::stopping() const {
  std::lock_guard guard{mtx_};
  return stopping_;
}

bool live_streams::pause(std::chrono::milliseconds d) {
  std::unique_lock lock{mtx_};
  return !wake_.wait_for(lock, d, [this] { return stopping_; });
}

json live_streams::overview() {
  std::lock_guard one{overview_mtx_};
  auto now = std::chrono::steady_clock::now();
  if (last_.is_null() || now - read_at_ >= 1s) {
    auto queues = service_.queues();
    std::int64_t workers = 0;
    for (const auto& q : queues.value("queues", json::array()))
      workers += q.value("workers", std::int64_t{0});
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    json roles = json::object();
    for (auto& [role, counts] : counts_.history(now_ms))
      roles[role] = counts;
    last_ = json{{"queues", queues["queues"]},
                 {"workers", workers},
                 {"ts_ms", now_ms},
                 {"throughput",
                  {{"bucket_s", throughput::bucket_ms / 1000},
                   {"end_ms", (now_ms / throughput::bucket_ms + 1) * throughput::bucket_ms},
                   {"roles", roles}}}};
    read_at_ = now;
  }
  return last_;
}

common::stream_reply live_streams::serve(const common::stream_request& req) {
  auto auth = req.headers.find("authorization");
  if (!token_.empty()
      && !common::bearer_matches(auth == req.headers.end() ? std::string{} : auth->second, token_))
    return error_json(401, "unauthorized",
                      "missing or wrong bearer token. Hint: send Authorization: Bearer "
                      "<SMITH_API_TOKEN>");
  if (stopping())
    return error_json(503, "unavailable", "the orchestrator is stopping");
  const std::string prefix = "/v1/stream/";
  auto rest = req.path.substr(prefix.size());
  bool is_overview = rest == "overview";
  bool is_task =
    rest.starts_with("tasks/") && rest.size() > 6 && rest.find('/', 6) == std::string::npos;
  if (!is_overview && !is_task)
    return error_json(404, "not_found",
                      "no API route " + req.method + " " + req.path + " (see docs/API.md)");
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = error_json(405, "method_not_allowed", req.method + " is not served on " + req.path);
    r.headers["Allow"] = "GET, HEAD";
    return r;
  }
  try {
    if (!service_.connected())
      throw api_error(503, "unavailable",
                      "NATS is unreachable; nothing was done. Hint: retry when NATS is back");
    if (is_overview) {
      if (!wants_events(req) || req.method == "HEAD")
        return json_reply(200, overview());
      return overview_stream();
    }
    auto id = rest.substr(6);
    auto first = service_.status(id); // 400 and 404 before any stream
    if (!wants_events(req) || req.method == "HEAD")
      return json_reply(200, first);
    return task_stream(id);
  } catch (const api_error& e) {
    return error_json(e.status(), e.code(), e.what());
  } catch (const std::exception& e) {
    SMITH_LOG(log(), error, "stream request failed", {"error_type", "internal"}, {"path", req.path},
              {"error", e.what()});
    return error_json(500, "internal", e.what());
  }
}

common::stream_reply live_streams::overview_stream() {
  auto r = event_stream();
  r.chunks = [this](const std::function<bool(std::string_view)>& write) {
    if (!write("retry: 2000\n\n"))
      return;
    do {
      std::string piece;
      try {
        piece = event("overview", overview());
      } catch (const api_error& e) {
        piece = event("error", error_doc(e));
      } catch (const std::exception& e) {
        piece = event("error", json{{"error", "internal"}, {"detail", e.what()}});
      }
      if (!write(piece))
        return;
    } while (pause(overview_every));
  };
  return r;
}

common::stream_reply live_streams::task_stream(const std::string& id) {
  auto r = event_stream();
  r.chunks = [this, id](const std::function<bool(std::string_view)>& write) {
    std::string last;
    auto written = std::chrono::steady_clock::now();
    do {
      std::string piece;
      bool done = false;
      try {
        auto status = service_.status(id);
        piece = event("status", status);
        done = is_final(status);
      } catch (const api_error& e) {
        piece = event("error", error_doc(e));
        done = e.status() == 404 || e.status() == 400;
      } catch (const std::exception& e) {
        piece = event("error", json{{"error", "internal"}, {"detail", e.what()}});
      }
      auto now = std::chrono::steady_clock::now();
      if (piece != last) {
        if (!write(piece))
          return;
        last = std::move(piece);
        written = now;
      } else if (now - written >= keep_alive) {
        if (!write(": keep-alive\n\n"))
          return;
        written = now;
      }
      if (done)
        return;
    } while (pause(task_poll));
  };
  return r;
}

} // namespace smith::services::orchestrator
