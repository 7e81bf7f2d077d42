// Following a task to its end (watch, submit --wait) and showing each change, and the
// duration flags of the commands.
#include "services/cli/client.hpp"

#include "transport/config.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace smith::services::cli {

namespace tp = smith::transport;
using namespace std::chrono_literals;

json follow(client& c, const std::string& id, std::chrono::milliseconds timeout,
            const std::function<void(const json&)>& on_change) {
  auto until = std::chrono::steady_clock::now() + timeout;
  c.follow_events(id);
  json last;
  for (;;) {
    auto s = c.task(id);
    if (s != last)
      on_change(s);
    last = s;
    if (final_state(s.value("state", "")))
      return s;
    if (timeout.count() > 0 && std::chrono::steady_clock::now() > until)
      die(exit_timed_out, "task " + id + " did not end within the --timeout (it goes on)");
    std::this_thread::sleep_for(100ms); // a poll interval, not a synchronisation
  }
}

namespace {

std::string text(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? escape_text(it->get<std::string>()) : std::string{};
}

int percent_of(const json& s) {
  auto p = s.find("progress");
  if (p == s.end() || !p->is_object())
    return 0;
  auto v = p->find("percent");
  return v != p->end() && v->is_number_integer() ? std::clamp(v->get<int>(), 0, 100) : 0;
}

} // namespace

void show_change(const json& s, bool as_json, bool bar) {
  if (as_json) {
    std::printf("%s\n", s.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    return;
  }
  auto state = text(s, "state");
  bool progress = s.contains("progress") && s["progress"].is_object();
  auto message = progress ? text(s["progress"], "message") : std::string{};
  if (bar && state == "running" && progress) {
    int pct = percent_of(s);
    std::string filled(static_cast<std::size_t>(pct / 5), '#');
    std::fprintf(stderr, "\r[%-20s] %3d%% %-40s", filled.c_str(), pct, message.c_str());
    std::fflush(stderr);
    return;
  }
  if (bar)
    std::fprintf(stderr, "\r%-80s\r", "");
  std::fprintf(stderr, "%s %s", text(s, "id").c_str(), state.c_str());
  if (auto worker = text(s, "worker"); !worker.empty())
    std::fprintf(
      stderr, " (worker %s, attempt %d)", worker.c_str(),
      s.contains("attempts") && s["attempts"].is_number_integer() ? s["attempts"].get<int>() : 0);
  if (progress)
    std::fprintf(stderr, " %d%% %s", percent_of(s), message.c_str());
  std::fprintf(stderr, "\n");
}

std::chrono::milliseconds duration_flag(const std::string& name, const std::string& text) {
  if (text.empty())
    return tp::milliseconds{0};
  auto d = tp::parse_duration(text);
  if (!d)
    die(exit_bad_request, name + " \"" + text + "\": " + d.error().message());
  return *d;
}

} // namespace smith::services::cli
