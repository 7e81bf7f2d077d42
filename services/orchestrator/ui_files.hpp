// The dashboard's static files (services/orchestrator/ui/), embedded in the binary at build time
// by embed_ui.py, and the route that serves them at /ui without a token: they hold no data.
#pragma once

#include "services/common/http_server.hpp"

#include <span>
#include <string_view>

namespace smith::services::orchestrator {

struct ui_file {
  std::string_view name; ///< "index.html", "app.js"
  std::string_view content_type;
  std::string_view bytes;
  std::string_view etag; ///< quoted, from the bytes' SHA-256
};

/// Every embedded file (generated: ui_assets.cpp in the build dir).
std::span<const ui_file> ui_files();

/// GET and HEAD on /ui (the index) and /ui/<name>, with no-cache + ETag (304 on
/// If-None-Match), nosniff, a strict Content-Security-Policy, no referrer and no framing.
common::stream_route ui_route();

} // namespace smith::services::orchestrator
