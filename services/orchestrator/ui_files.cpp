#include "services/orchestrator/ui_files.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace smith::services::orchestrator {

namespace {

// Scripts, styles and requests from this origin only; no inline script or style, no plugins,
// no framing, no <base> and no form posts anywhere.
constexpr const char* content_security_policy =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
  "frame-ancestors 'none'";

std::map<std::string, std::string> security_headers() {
  return {{"X-Content-Type-Options", "nosniff"},
          {"Content-Security-Policy", content_security_policy},
          {"Referrer-Policy", "no-referrer"},
          {"X-Frame-Options", "DENY"},
          {"Cache-Control", "no-cache"}};
}

common::stream_reply refusal(int status, const std::string& code, const std::string& detail) {
  common::stream_reply r;
  r.status = status;
  r.headers = security_headers();
  r.body = nlohmann::json{{"error", code}, {"detail", detail}}.dump(
    -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

common::stream_reply serve_file(const common::stream_request& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = refusal(405, "method_not_allowed", req.method + " is not served on " + req.path);
    r.headers["Allow"] = "GET, HEAD";
    return r;
  }
  std::string_view name = req.path;
  name.remove_prefix(3); // "/ui"
  if (name.starts_with('/'))
    name.remove_prefix(1);
  if (name.empty())
    name = "index.html";
  for (const auto& f : ui_files()) {
    if (f.name != name)
      continue;
    common::stream_reply r;
    r.headers = security_headers();
    r.headers["ETag"] = std::string{f.etag};
    auto match = req.headers.find("if-none-match");
    if (match != req.headers.end() && match->second == f.etag) {
      r.status = 304;
      return r;
    }
    r.content_type = std::string{f.content_type};
    r.body = std::string{f.bytes};
    return r;
  }
  return refusal(404, "not_found", "no dashboard file " + req.path + "; the dashboard is /ui");
}

} // namespace

common::stream_route ui_route() {
  return {"/ui(/.*)?", serve_file, common::stream_route::bound::none, 0, {}};
}

} // namespace smith::services::orchestrator
