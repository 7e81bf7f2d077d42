// `smith submit`: one task, N tasks (--count), or a payload from stdin or a file; --wait follows.
#include "services/cli/client.hpp"

#include "transport/clock.hpp"
#include "transport/config.hpp"
#include "transport/wire/base64.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <unistd.h>

namespace smith::services::cli {

namespace tp = smith::transport;
using namespace std::chrono_literals;

namespace {

struct submit_options {
  std::string role, type, payload, file, stdin_marker, id, delay, deadline, timeout;
  bool wait = false;
  int count = 1;
};

// A live count on a terminal's stderr, redrawn in place ("12/100 done: 11 succeeded, 1 dead");
// the lines of the command's answer go out between two redraws.
class counter_line {
public:
  explicit counter_line(bool on) : on_(on) {
  }

  void show(const std::string& text) {
    if (!on_)
      return;
    std::fprintf(stderr, "\r%-*s", static_cast<int>(width_), text.c_str());
    width_ = std::max(width_, text.size());
    std::fflush(stderr);
  }

  void clear() {
    if (on_ && width_ > 0)
      std::fprintf(stderr, "\r%-*s\r", static_cast<int>(width_), "");
  }

private:
  bool on_;
  std::size_t width_ = 0;
};

std::string by_state_text(const std::map<std::string, int>& by_state) {
  std::string states;
  for (const auto& [k, v] : by_state)
    states += (states.empty() ? "" : ", ") + std::to_string(v) + " " + k;
  return states;
}

// --count N: submits N tasks (one line each: the id, or with --json the answer), and with
// --wait follows them all: one line per task as it ends, then a summary by state.
int submit_many(client& c, const client_options& co, const submit_options& so, json req) {
  auto started = std::chrono::steady_clock::now();
  counter_line counter{isatty(STDERR_FILENO) == 1};
  auto total = std::to_string(so.count);
  std::vector<std::string> ids;
  for (int i = 0; i < so.count; ++i) {
    if (!so.id.empty())
      req["id"] = so.id + "-" + std::to_string(i);
    auto ack = c.call("POST", "/v1/tasks", req);
    ids.push_back(ack.at("id").get<std::string>());
    if (!so.wait) {
      counter.clear();
      std::printf("%s\n", co.json_out ? ack.dump().c_str() : escape_text(ids.back()).c_str());
    }
    counter.show("submitted " + std::to_string(i + 1) + "/" + total);
  }
  if (!so.wait) {
    counter.clear();
    return exit_ok;
  }
  auto timeout = duration_flag("--timeout", so.timeout);
  std::map<std::string, int> by_state;
  std::vector<std::string> open = ids;
  std::size_t done = 0;
  counter.show("0/" + total + " done");
  while (!open.empty()) {
    std::vector<std::string> still;
    for (const auto& id : open) {
      auto s = c.call("GET", "/v1/tasks/" + id);
      auto state = s.value("state", "");
      if (!final_state(state)) {
        still.push_back(id);
        continue;
      }
      ++by_state[state];
      ++done;
      if (!co.json_out) {
        counter.clear();
        std::string line = id;
        line += ' ';
        line += state;
        if (state != "succeeded")
          line.append(": ").append(s.value("error", ""));
        std::printf("%s\n", escape_text(line).c_str());
        std::fflush(stdout);
      }
      counter.show(std::to_string(done) + "/" + total + " done: " + by_state_text(by_state));
    }
    open.swap(still);
    if (open.empty())
      break;
    if (timeout.count() > 0 && std::chrono::steady_clock::now() - started > timeout) {
      counter.clear();
      die(exit_timed_out,
          std::to_string(open.size()) + " tasks did not end within --timeout (they go on)");
    }
    std::this_thread::sleep_for(100ms); // a poll interval, not a synchronisation
  }
  counter.clear();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  json summary{{"tasks", ids.size()}, {"by_state", by_state}, {"seconds", secs}};
  if (co.json_out)
    std::printf("%s\n", summary.dump().c_str());
  else
    std::printf("%zu tasks: %s in %.2f s (%.0f tasks/s)\n", ids.size(),
                by_state_text(by_state).c_str(), secs,
                static_cast<double>(ids.size()) / std::max(secs, 1e-6));
  return by_state["succeeded"] == static_cast<int>(ids.size()) ? exit_ok : exit_task_failed;
}

int submit(const client_options& co, const submit_options& so) {
  json req{{"role", so.role}, {"type", so.type}};
  int sources = !so.payload.empty() + !so.file.empty() + (so.stdin_marker == "-");
  if (sources > 1)
    die(exit_bad_request, "give one of --payload, --file or -");
  if (!so.payload.empty()) {
    auto p = json::parse(so.payload, nullptr, false);
    if (p.is_discarded())
      die(exit_bad_request, "--payload is not JSON (quote a string: --payload '\"text\"'); "
                            "for raw bytes use --file F or -");
    req["payload"] = p;
  } else if (!so.file.empty() || so.stdin_marker == "-") {
    std::string bytes;
    if (so.stdin_marker == "-" || so.file == "-") {
      bytes = read_all(std::cin);
    } else {
      std::ifstream in{so.file, std::ios::binary};
      if (!in)
        die(exit_bad_request, "cannot read --file " + so.file);
      bytes = read_all(in);
    }
    req["payload_base64"] = tp::wire::base64_encode(bytes);
  } else if (so.stdin_marker.size() > 0) {
    die(exit_bad_request, "unexpected argument \"" + so.stdin_marker + "\" (only - for stdin)");
  }
  if (!so.id.empty())
    req["id"] = so.id;
  if (auto d = duration_flag("--delay", so.delay); d.count() > 0)
    req["delay_ms"] = d.count();
  if (auto d = duration_flag("--deadline", so.deadline); d.count() > 0)
    req["deadline_ms"] = tp::unix_ms() + d.count();
  client c{co};
  if (so.count < 1)
    die(exit_bad_request, "--count must be at least 1");
  if (so.count > 1)
    return submit_many(c, co, so, std::move(req));
  auto ack = c.call("POST", "/v1/tasks", req);
  auto id = ack.at("id").get<std::string>();
  if (!so.wait) {
    std::printf("%s\n", co.json_out ? ack.dump().c_str() : escape_text(id).c_str());
    return exit_ok;
  }
  bool bar = !co.json_out && isatty(STDERR_FILENO) == 1;
  auto s = follow(c, id, duration_flag("--timeout", so.timeout), [&](const json& st) {
    if (bar)
      show_change(st, false, true);
  });
  if (bar)
    std::fprintf(stderr, "\r%-80s\r", "");
  if (co.json_out) {
    std::printf("%s\n", s.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    write_output(s);
    if (s.value("state", "") != "succeeded")
      std::fprintf(stderr, "smith: task %s %s: %s\n", escape_text(id).c_str(),
                   escape_text(s.value("state", "")).c_str(),
                   escape_text(s.value("error", "")).c_str());
  }
  return exit_for(s);
}

} // namespace

void add_submit(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto so = std::make_shared<submit_options>();
  auto* cmd = app.add_subcommand("submit", "Submit a task; with --wait, wait for its result");
  cmd->add_option("--role", so->role, "Worker role (a fleet)")->required();
  cmd->add_option("--type", so->type, "Task type (a handler)")->required();
  cmd->add_option("--payload", so->payload, "The payload as JSON (a string: '\"text\"')");
  cmd->add_option("--file", so->file, "The payload: raw bytes of this file (- for stdin)");
  cmd->add_option("stdin", so->stdin_marker, "- reads the payload from stdin");
  cmd->add_option("--id", so->id, "Task id (default: a new one); the same id twice is one task");
  cmd->add_option("--delay", so->delay, "Do not start before this, e.g. 30s");
  cmd->add_option("--deadline", so->deadline, "Fail the task if not done within, e.g. 5m");
  cmd->add_flag("--wait", so->wait, "Wait for the result; exit 0 on success, 1 on failure");
  cmd->add_option("--count", so->count,
                  "Submit this many such tasks (ids <id>-0.. with --id); with --wait, print "
                  "a summary by state");
  cmd->add_option("--timeout", so->timeout, "With --wait: give up after, e.g. 10m");
  add_client_options(cmd, co);
  cmd->footer(example("  smith submit --role execute --type echo --payload '{\"n\":1}' --wait\n"
                      "  echo -n abc | smith submit --role execute --type hash - --wait\n"
                      "  smith submit --role execute --type echo --payload '\"hi\"' --count 100 "
                      "--wait"));
  cmd->callback([co, so] { run([&] { return submit(*co, *so); }); });
}

} // namespace smith::services::cli
