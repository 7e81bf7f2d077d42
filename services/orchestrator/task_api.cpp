#include "services/orchestrator/task_api.hpp"

#include "services/orchestrator/api_error.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <initializer_list>
#include <vector>

namespace smith::services::orchestrator {

using json = nlohmann::json;

namespace {

common::http_reply error_reply(int status, const std::string& code, const std::string& detail) {
  return {status, json{{"error", code}, {"detail", detail}}.dump()};
}

// Constant time in the length of the expected value: a wrong guess reveals nothing of where
// it went wrong.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

std::uint64_t parse_seq(const std::string& text) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size() || n == 0)
    throw api_error(400, "invalid_field", "\"" + text + "\" is not a stream sequence number");
  return n;
}

std::size_t query_limit(const common::http_request& req) {
  auto it = req.query.find("limit");
  if (it == req.query.end())
    return 100;
  auto n = parse_seq(it->second);
  return static_cast<std::size_t>(std::min<std::uint64_t>(n, 10'000));
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

json route(task_service& svc, const common::http_request& req, int& status) {
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
  auto only = [&](const char* method) {
    if (req.method != method)
      throw api_error(405, "method_not_allowed", req.method + " is not served on " + p);
  };
  if (is({"tasks"})) {
    only("POST");
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded())
      throw api_error(400, "invalid_json", "the request body is not valid JSON");
    status = 202;
    return svc.submit(body);
  }
  if (is({"tasks", nullptr, "cancel"})) {
    only("POST");
    status = 202;
    return svc.cancel(s[1]);
  }
  if (is({"tasks", nullptr})) {
    only("GET");
    return svc.status(s[1]);
  }
  if (is({"queues"})) {
    only("GET");
    return svc.queues();
  }
  if (is({"dlq"})) {
    only("GET");
    std::uint64_t from = 1;
    if (auto it = req.query.find("from"); it != req.query.end())
      from = parse_seq(it->second);
    return svc.dlq_list(query_limit(req), from);
  }
  if (is({"dlq", nullptr, "requeue"})) {
    only("POST");
    status = 202;
    return svc.dlq_requeue(parse_seq(s[1]));
  }
  if (is({"dlq", nullptr})) {
    only("DELETE");
    return svc.dlq_delete(parse_seq(s[1]));
  }
  throw api_error(404, "not_found", "no API route " + req.method + " " + p + " (see docs/API.md)");
}

} // namespace

common::http_reply serve_api(task_service& service, const std::string& token,
                             const common::http_request& req) {
  if (!token.empty()) {
    const std::string prefix = "Bearer ";
    const auto& h = req.authorization;
    if (h.size() <= prefix.size() || h.compare(0, prefix.size(), prefix) != 0
        || !same_secret(h.substr(prefix.size()), token))
      return error_reply(401, "unauthorized",
                         "missing or wrong bearer token. Hint: send Authorization: Bearer "
                         "<SMITH_API_TOKEN>");
  }
  try {
    int status = 200;
    auto body = route(service, req, status);
    return {status, body.dump()};
  } catch (const api_error& e) {
    if (e.status() >= 500)
      spdlog::error(R"({{"level":"ERROR","msg":"api request failed","error_type":"{}",)"
                    R"("path":"{}","error":{}}})",
                    e.code(), req.path, json(e.what()).dump());
    return error_reply(e.status(), e.code(), e.what());
  } catch (const std::exception& e) {
    spdlog::error(R"({{"level":"ERROR","msg":"api request failed","error_type":"internal",)"
                  R"("path":"{}","error":{}}})",
                  req.path, json(e.what()).dump());
    return error_reply(500, "internal", e.what());
  }
}

} // namespace smith::services::orchestrator
