#include "services/orchestrator/task_api.hpp"
#include "services/common/auth.hpp"
#include "services/orchestrator/api_error.hpp"
#include "services/orchestrator/log.hpp"
#include "services/orchestrator/request_fields.hpp"
#include "services/orchestrator/task_ids.hpp"

#include <charconv>
#include <initializer_list>
#include <optional>
#include <vector>

namespace smith::services::orchestrator {

using json = nlohmann::json;

namespace {

// Who made a request, for its audit lines, and where they go.
struct caller {
  std::string who;
  transport::logging::logger& audit_log;
};

// "token:" and the first 8 hex digits of the token's SHA-256: tells tokens apart in the logs
// without putting a usable secret there.
std::string token_identity(const std::string& token) {
  return "token:" + sha256_hex(token, 4);
}

common::http_reply error_reply(int status, const std::string& code, const std::string& detail,
                               const std::string& task_id = {}) {
  json body{{"error", code}, {"detail", detail}};
  if (!task_id.empty())
    body["id"] = task_id;
  return {status, json_text(body)};
}

// 1 to 2^63 - 1: nats.c sends a sequence as a signed 64-bit number, and the server refuses a
// negative one (a 500 it would be).
std::uint64_t parse_seq(const std::string& text) {
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size() || n <= 0)
    throw api_error(400, "invalid_field",
                    "\"" + text + "\" is not a stream sequence number (1 to 2^63 - 1)");
  return static_cast<std::uint64_t>(n);
}

std::size_t query_limit(const common::http_request& req) {
  auto it = req.query.find("limit");
  if (it == req.query.end())
    return 100;
  auto n = parse_seq(it->second);
  return static_cast<std::size_t>(std::min<std::uint64_t>(n, 10'000));
}

// GET /v1/tasks?role=R&state=S&limit=N: a parameter that is there must be valid (an empty
// one too); limit 1 to 1000, 50 when absent.
json list_tasks(task_service& svc, const common::http_request& req) {
  auto param = [&](const char* key) -> std::optional<std::string> {
    auto it = req.query.find(key);
    if (it == req.query.end())
      return std::nullopt;
    return it->second;
  };
  std::size_t limit = 50;
  if (auto text = param("limit")) {
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc{} || ptr != text->data() + text->size() || n < 1 || n > 1000)
      throw api_error(400, "invalid_field",
                      "limit " + json_text(*text) + " must be a whole number from 1 to 1000");
    limit = static_cast<std::size_t>(n);
  }
  auto role = param("role");
  if (role && role->empty())
    check_token(*role, "role");
  auto state = param("state");
  if (state && state->empty())
    throw api_error(400, "invalid_field",
                    "state \"\" is not one of scheduled, queued, running, succeeded, failed, "
                    "dead, cancelled");
  return svc.list(role.value_or(""), state.value_or(""), limit);
}

// "/v1/tasks/abc/cancel" → {"tasks", "abc", "cancel"}; empty segments are kept, so "//" and a
// trailing "/" never match a route.
std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = 4; // after "/v1/"
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    if (slash == std::string::npos)
      slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

json route(task_service& svc, const common::http_request& req, int& status, const caller& c) {
  // While NATS is away nats.c would buffer what a request sends and send it once NATS is
  // back, after the request was answered with an error: nothing is started then.
  if (!svc.connected())
    throw api_error(503, "unavailable",
                    "NATS is unreachable; nothing was done. Hint: retry when NATS is back");
  const auto& p = req.path;
  auto s = segments(p);
  auto is = [&](std::initializer_list<const char*> shape) {
    if (s.size() != shape.size())
      return false;
    std::size_t i = 0;
    for (const char* part : shape) {
      // nullptr stands for a parameter: any non-empty segment.
      if (part == nullptr ? s[i].empty() : s[i] != part)
        return false;
      ++i;
    }
    return true;
  };
  // The methods a path serves (HEAD with GET, as GET without the body), or 405 with them.
  auto only = [&](std::initializer_list<std::string_view> methods) {
    std::string allow;
    bool served = false;
    for (auto m : methods) {
      served = served || req.method == m;
      allow += (allow.empty() ? "" : ", ") + std::string{m} + (m == "GET" ? ", HEAD" : "");
    }
    if (!served)
      throw api_error(405, "method_not_allowed", req.method + " is not served on " + p)
        .allowing(allow);
  };
  if (is({"tasks"})) {
    only({"GET", "POST"});
    if (req.method != "POST")
      return list_tasks(svc, req);
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded())
      throw api_error(400, "invalid_json", "the request body is not valid JSON");
    status = 202;
    return svc.submit(body, req.idempotency_key, req.traceparent);
  }
  if (is({"tasks", nullptr, "cancel"})) {
    only({"POST"});
    status = 202;
    auto r = svc.cancel(s[1]);
    SMITH_LOG(c.audit_log, info, "audit", {"action", "cancel"}, {"who", c.who}, {"task_id", s[1]},
              {"state", r.value("state", "")});
    return r;
  }
  if (is({"tasks", nullptr})) {
    only({"GET"});
    return svc.status(s[1]);
  }
  if (is({"schedules"})) {
    only({"GET", "POST"});
    if (req.method == "GET")
      return svc.schedule_list();
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded())
      throw api_error(400, "invalid_json", "the request body is not valid JSON");
    status = 201;
    auto r = svc.schedule_create(body);
    SMITH_LOG(c.audit_log, info, "audit", {"action", "schedule_create"}, {"who", c.who},
              {"schedule", r.value("name", "")}, {"role", r.value("role", "")},
              {"type", r.value("type", "")}, {"when", r.value("schedule", "")});
    return r;
  }
  if (is({"schedules", nullptr})) {
    only({"GET", "DELETE"});
    if (req.method == "GET")
      return svc.schedule_show(s[1]);
    auto r = svc.schedule_delete(s[1]);
    SMITH_LOG(c.audit_log, info, "audit", {"action", "schedule_delete"}, {"who", c.who},
              {"schedule", s[1]});
    return r;
  }
  if (is({"queues"})) {
    only({"GET"});
    return svc.queues();
  }
  if (is({"queues", nullptr, "purge"})) {
    only({"POST"});
    auto r = svc.queue_purge(s[1]);
    SMITH_LOG(c.audit_log, info, "audit", {"action", "queue_purge"}, {"who", c.who}, {"role", s[1]},
              {"purged", r.value("purged", std::uint64_t{0})});
    return r;
  }
  if (is({"workers"})) {
    only({"GET"});
    return svc.workers();
  }
  if (is({"dlq"})) {
    only({"GET"});
    std::uint64_t from = 1;
    if (auto it = req.query.find("from"); it != req.query.end())
      from = parse_seq(it->second);
    return svc.dlq_list(query_limit(req), from);
  }
  if (is({"dlq", nullptr, "requeue"})) {
    only({"POST"});
    status = 202;
    auto seq = parse_seq(s[1]);
    auto r = svc.dlq_requeue(seq);
    SMITH_LOG(c.audit_log, info, "audit", {"action", "dlq_requeue"}, {"who", c.who},
              {"dlq_seq", seq}, {"task_id", r.value("id", "")},
              {"stream_seq", r.value("stream_seq", std::uint64_t{0})});
    return r;
  }
  if (is({"dlq", nullptr})) {
    only({"GET", "DELETE"});
    auto seq = parse_seq(s[1]);
    if (req.method != "DELETE")
      return svc.dlq_show(seq);
    auto r = svc.dlq_delete(seq);
    SMITH_LOG(c.audit_log, info, "audit", {"action", "dlq_delete"}, {"who", c.who},
              {"dlq_seq", seq});
    return r;
  }
  throw api_error(404, "not_found", "no API route " + req.method + " " + p + " (see docs/API.md)");
}

common::http_reply answer(task_service& service, const common::http_request& req, const caller& c) {
  try {
    int status = 200;
    auto body = route(service, req, status, c);
    return {status, json_text(body)};
  } catch (const api_error& e) {
    if (e.status() >= 500)
      SMITH_LOG(log(), error, "api request failed", {"error_type", e.code()}, {"path", req.path},
                {"error", e.what()});
    auto reply = error_reply(e.status(), e.code(), e.what(), e.task_id());
    reply.allow = e.allow();
    return reply;
  } catch (const std::exception& e) {
    SMITH_LOG(log(), error, "api request failed", {"error_type", "internal"}, {"path", req.path},
              {"error", e.what()});
    return error_reply(500, "internal", e.what());
  }
}

} // namespace

common::http_reply serve_api(task_service& service, const std::string& token,
                             const common::http_request& req) {
  if (token.empty())
    return answer(service, req, {"anonymous", log()});
  if (!common::bearer_matches(req.authorization, token))
    return error_reply(401, "unauthorized",
                       "missing or wrong bearer token. Hint: send Authorization: Bearer "
                       "<SMITH_API_TOKEN>");
  return answer(service, req, {token_identity(token), log()});
}

common::http_reply serve_local(task_service& service, const common::http_request& req,
                               transport::logging::logger& audit_log) {
  return answer(service, req, {"local", audit_log});
}

} // namespace smith::services::orchestrator
