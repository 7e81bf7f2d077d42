#include "services/client_commands.hpp"

#include "services/base64.hpp"
#include "services/task_api.hpp"
#include "services/task_service.hpp"
#include "transport/config.hpp"
#include "transport/connection.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

namespace smith::services {

namespace tp = smith::transport;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Exit codes of the client commands (docs/API.md).
constexpr int exit_ok = 0;
constexpr int exit_task_failed = 1; // the task ended failed, dead or cancelled
constexpr int exit_bad_request = 2; // the request was refused (4xx) or the flags are wrong
constexpr int exit_unavailable = 3; // NATS or the orchestrator could not be reached (5xx)

struct client_options {
  std::string api;   // orchestrator URL; empty: talk to NATS directly
  std::string token; // bearer token for --api
  bool json_out = false;
};

// Where a command ended: its exit code, after one line on stderr for errors.
struct command_exit {
  int code;
};

[[noreturn]] void die(int code, const std::string& line) {
  std::fprintf(stderr, "smith: %s\n", line.c_str());
  throw command_exit{code};
}

// Sends one API request, to the orchestrator (--api) or in-process through the same routes
// over a direct NATS connection. Errors end the command.
class client {
public:
  explicit client(client_options o) : o_(std::move(o)) {
  }

  json call(const std::string& method, const std::string& path, const json& body = nullptr) {
    auto reply = o_.api.empty() ? direct(method, path, body) : remote(method, path, body);
    auto doc = json::parse(reply.body, nullptr, false);
    if (reply.status >= 400) {
      auto detail = doc.is_object() ? doc.value("detail", reply.body) : reply.body;
      die(reply.status >= 500 ? exit_unavailable : exit_bad_request, detail);
    }
    if (doc.is_discarded())
      die(exit_unavailable, "the answer to " + method + " " + path + " is not JSON");
    return doc;
  }

private:
  http_reply direct(const std::string& method, const std::string& path, const json& body) {
    if (!service_) {
      auto env = tp::process_env();
      auto cc = tp::parse_connection_config(env);
      auto tc = tp::parse_topology_config(env);
      if (!cc || !tc)
        die(exit_bad_request, (!cc ? cc.error() : tc.error()).message());
      cc->name = "smith-cli";
      spdlog::set_level(spdlog::level::off); // the command reports its own errors, once
      cc->retry_on_failed_connect = false;
      auto conn = tp::connection::connect(*cc);
      if (!conn)
        die(exit_unavailable, conn.error().message() + ". Hint: set SMITH_NATS_URL, or --api URL");
      try {
        service_ = std::make_unique<task_service>(*conn, *tc);
      } catch (const std::exception& e) {
        die(exit_unavailable, e.what());
      }
    }
    auto q = path.find('?');
    http_request req{method, path.substr(0, q), body.is_null() ? "" : body.dump(), "", {}};
    if (q != std::string::npos) {
      std::istringstream params{path.substr(q + 1)};
      for (std::string kv; std::getline(params, kv, '&');)
        if (auto eq = kv.find('='); eq != std::string::npos)
          req.query[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return serve_api(*service_, "", req);
  }

  http_reply remote(const std::string& method, const std::string& path, const json& body) {
    httplib::Client cli{o_.api};
    cli.set_connection_timeout(5s);
    cli.set_read_timeout(30s);
    httplib::Headers headers;
    if (!o_.token.empty())
      headers.emplace("Authorization", "Bearer " + o_.token);
    httplib::Result res{nullptr, httplib::Error::Unknown};
    auto text = body.is_null() ? std::string{} : body.dump();
    if (method == "GET")
      res = cli.Get(path, headers);
    else if (method == "DELETE")
      res = cli.Delete(path, headers);
    else
      res = cli.Post(path, headers, text, "application/json");
    if (!res)
      die(exit_unavailable, "no answer from " + o_.api + " (" + httplib::to_string(res.error())
                              + "). Hint: is the orchestrator running? --api URL");
    return {res->status, res->body};
  }

  client_options o_;
  std::unique_ptr<task_service> service_;
};

void add_client_options(CLI::App* cmd, const std::shared_ptr<client_options>& o) {
  cmd->add_option("--api", o->api, "Orchestrator URL, e.g. http://127.0.0.1:8080 (default: NATS)")
    ->envname("SMITH_API_URL");
  cmd->add_option("--token", o->token, "Bearer token for --api")->envname("SMITH_API_TOKEN");
  cmd->add_flag("--json", o->json_out, "Print the JSON answer instead of text");
}

std::string read_all(std::istream& in) {
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

bool final_state(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "dead" || s == "cancelled";
}

int exit_for(const json& status) {
  return status.value("state", "") == "succeeded" ? exit_ok : exit_task_failed;
}

std::string output_of(const json& status) {
  if (status.contains("output"))
    return status["output"].get<std::string>();
  if (status.contains("output_base64"))
    return base64_decode(status["output_base64"].get<std::string>()).value_or("");
  return {};
}

// Polls a task's status until it ends, reporting each change through `on_change`.
json follow(client& c, const std::string& id, std::chrono::milliseconds timeout,
            const std::function<void(const json&)>& on_change) {
  auto until = std::chrono::steady_clock::now() + timeout;
  json last;
  for (;;) {
    auto s = c.call("GET", "/v1/tasks/" + id);
    if (s != last)
      on_change(s);
    last = s;
    if (final_state(s.value("state", "")))
      return s;
    if (timeout.count() > 0 && std::chrono::steady_clock::now() > until)
      die(exit_unavailable, "task " + id + " did not end within the --timeout");
    std::this_thread::sleep_for(100ms); // a poll interval, not a synchronisation
  }
}

// One line (or a progress bar on a terminal) per change of a followed task.
void show_change(const json& s, bool as_json, bool bar) {
  if (as_json) {
    std::printf("%s\n", s.dump().c_str());
    std::fflush(stdout);
    return;
  }
  auto state = s.value("state", "");
  if (bar && state == "running" && s.contains("progress")) {
    int pct = std::clamp(s["progress"].value("percent", 0), 0, 100);
    std::string filled(static_cast<std::size_t>(pct / 5), '#');
    std::fprintf(stderr, "\r[%-20s] %3d%% %s", filled.c_str(), pct,
                 s["progress"].value("message", "").c_str());
    return;
  }
  if (bar)
    std::fprintf(stderr, "\r%-60s\r", "");
  std::fprintf(stderr, "%s %s", s.value("id", "").c_str(), state.c_str());
  if (s.contains("worker") && !s["worker"].get<std::string>().empty())
    std::fprintf(stderr, " (worker %s, attempt %d)", s["worker"].get<std::string>().c_str(),
                 s.value("attempts", 0));
  if (s.contains("progress"))
    std::fprintf(stderr, " %d%% %s", s["progress"].value("percent", 0),
                 s["progress"].value("message", "").c_str());
  std::fprintf(stderr, "\n");
}

void print_status(const json& s) {
  for (auto& [k, v] : s.items())
    std::printf("%-12s %s\n", k.c_str(),
                v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
}

tp::milliseconds duration_flag(const std::string& name, const std::string& text) {
  if (text.empty())
    return tp::milliseconds{0};
  auto d = tp::parse_duration(text);
  if (!d)
    die(exit_bad_request, name + " \"" + text + "\": " + d.error().message());
  return *d;
}

template <class Fn>
void run(Fn&& fn) {
  int code = exit_ok;
  try {
    code = fn();
  } catch (const command_exit& e) {
    code = e.code;
  }
  throw CLI::RuntimeError(code);
}

// -- commands ------------------------------------------------------------------------------------

struct submit_options {
  std::string role, type, payload, file, stdin_marker, id, delay, deadline, timeout;
  bool wait = false;
  int count = 1;
};

// --count N: submits N tasks, and with --wait follows them all to a summary by state.
int submit_many(client& c, const client_options& co, const submit_options& so, json req) {
  auto started = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < so.count; ++i) {
    if (!so.id.empty())
      req["id"] = so.id + "-" + std::to_string(i);
    ids.push_back(c.call("POST", "/v1/tasks", req)["id"].get<std::string>());
  }
  if (!so.wait) {
    for (const auto& id : ids)
      std::printf("%s\n", id.c_str());
    return exit_ok;
  }
  auto timeout = duration_flag("--timeout", so.timeout);
  std::map<std::string, int> by_state;
  std::vector<std::string> open = ids;
  while (!open.empty()) {
    std::vector<std::string> still;
    for (const auto& id : open) {
      auto state = c.call("GET", "/v1/tasks/" + id).value("state", "");
      if (final_state(state))
        ++by_state[state];
      else
        still.push_back(id);
    }
    open.swap(still);
    if (open.empty())
      break;
    if (timeout.count() > 0 && std::chrono::steady_clock::now() - started > timeout)
      die(exit_unavailable, std::to_string(open.size()) + " tasks did not end within --timeout");
    std::this_thread::sleep_for(100ms); // a poll interval, not a synchronisation
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  json summary{{"tasks", ids.size()}, {"by_state", by_state}, {"seconds", secs}};
  if (co.json_out) {
    std::printf("%s\n", summary.dump().c_str());
  } else {
    std::string states;
    for (const auto& [k, v] : by_state)
      states += (states.empty() ? "" : ", ") + std::to_string(v) + " " + k;
    std::printf("%zu tasks: %s in %.2f s (%.0f tasks/s)\n", ids.size(), states.c_str(), secs,
                static_cast<double>(ids.size()) / std::max(secs, 1e-6));
  }
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
    req["payload_base64"] = base64_encode(bytes);
  } else if (so.stdin_marker.size() > 0) {
    die(exit_bad_request, "unexpected argument \"" + so.stdin_marker + "\" (only - for stdin)");
  }
  if (!so.id.empty())
    req["id"] = so.id;
  if (auto d = duration_flag("--delay", so.delay); d.count() > 0)
    req["delay_ms"] = d.count();
  if (auto d = duration_flag("--deadline", so.deadline); d.count() > 0)
    req["deadline_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()
                         + d.count();
  client c{co};
  if (so.count < 1)
    die(exit_bad_request, "--count must be at least 1");
  if (so.count > 1)
    return submit_many(c, co, so, std::move(req));
  auto ack = c.call("POST", "/v1/tasks", req);
  auto id = ack["id"].get<std::string>();
  if (!so.wait) {
    std::printf("%s\n", co.json_out ? ack.dump().c_str() : id.c_str());
    return exit_ok;
  }
  bool bar = !co.json_out && isatty(STDERR_FILENO) == 1;
  auto s = follow(c, id, duration_flag("--timeout", so.timeout), [&](const json& st) {
    if (bar)
      show_change(st, false, true);
  });
  if (bar)
    std::fprintf(stderr, "\r%-60s\r", "");
  if (co.json_out) {
    std::printf("%s\n", s.dump().c_str());
  } else {
    auto out = output_of(s);
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (!out.empty() && out.back() != '\n' && isatty(STDOUT_FILENO) == 1)
      std::printf("\n");
    if (s.value("state", "") != "succeeded")
      std::fprintf(stderr, "smith: task %s %s: %s\n", id.c_str(), s.value("state", "").c_str(),
                   s.value("error", "").c_str());
  }
  return exit_for(s);
}

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
  cmd->callback([co, so] { run([&] { return submit(*co, *so); }); });
}

void add_status_watch_cancel(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto id = std::make_shared<std::string>();
  auto* status = app.add_subcommand("status", "Show a task's state");
  status->add_option("id", *id, "Task id")->required();
  add_client_options(status, co);
  status->callback([co, id] {
    run([&] {
      client c{*co};
      auto s = c.call("GET", "/v1/tasks/" + *id);
      if (co->json_out)
        std::printf("%s\n", s.dump().c_str());
      else
        print_status(s);
      return exit_ok;
    });
  });

  auto wo = std::make_shared<client_options>();
  auto wid = std::make_shared<std::string>();
  auto* watch = app.add_subcommand("watch", "Follow a task until it ends; exit code by outcome");
  watch->add_option("id", *wid, "Task id")->required();
  add_client_options(watch, wo);
  watch->callback([wo, wid] {
    run([&] {
      client c{*wo};
      auto s = follow(c, *wid, tp::milliseconds{0},
                      [&](const json& st) { show_change(st, wo->json_out, false); });
      if (!wo->json_out) {
        auto out = output_of(s);
        std::fwrite(out.data(), 1, out.size(), stdout);
      }
      return exit_for(s);
    });
  });

  auto xo = std::make_shared<client_options>();
  auto xid = std::make_shared<std::string>();
  auto* cancel = app.add_subcommand("cancel", "Cancel a queued or running task");
  cancel->add_option("id", *xid, "Task id")->required();
  add_client_options(cancel, xo);
  cancel->callback([xo, xid] {
    run([&] {
      client c{*xo};
      auto s = c.call("POST", "/v1/tasks/" + *xid + "/cancel");
      std::printf("%s\n",
                  xo->json_out ? s.dump().c_str() : (*xid + " " + s.value("state", "")).c_str());
      return exit_ok;
    });
  });
}

void add_queues(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto* cmd = app.add_subcommand("queues", "Per role: pending, in flight, workers, oldest");
  add_client_options(cmd, co);
  cmd->callback([co] {
    run([&] {
      client c{*co};
      auto q = c.call("GET", "/v1/queues");
      if (co->json_out) {
        std::printf("%s\n", q.dump().c_str());
        return exit_ok;
      }
      std::printf("%-16s %10s %10s %8s %12s\n", "ROLE", "PENDING", "IN_FLIGHT", "WORKERS",
                  "OLDEST_S");
      for (const auto& r : q["queues"])
        std::printf("%-16s %10llu %10lld %8d %12.1f\n", r["role"].get<std::string>().c_str(),
                    static_cast<unsigned long long>(r["pending"].get<std::uint64_t>()),
                    static_cast<long long>(r["in_flight"].get<std::int64_t>()),
                    r["workers"].get<int>(), r["oldest_pending_s"].get<double>());
      return exit_ok;
    });
  });
}

void add_dlq(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto* dlq = app.add_subcommand("dlq", "List, requeue or purge dead letters");
  dlq->require_subcommand(1);
  auto limit = std::make_shared<std::size_t>(100);
  auto* list = dlq->add_subcommand("list", "List dead letters");
  list->add_option("--limit", *limit, "At most this many")->capture_default_str();
  add_client_options(list, co);
  list->callback([co, limit] {
    run([&] {
      client c{*co};
      auto d = c.call("GET", "/v1/dlq?limit=" + std::to_string(*limit));
      if (co->json_out) {
        std::printf("%s\n", d.dump().c_str());
        return exit_ok;
      }
      std::printf("%-8s %-28s %-10s %-10s %8s  %s\n", "SEQ", "ID", "ROLE", "TYPE", "ATTEMPTS",
                  "REASON");
      for (const auto& e : d["dead_letters"])
        std::printf("%-8llu %-28s %-10s %-10s %8d  %s\n",
                    static_cast<unsigned long long>(e["seq"].get<std::uint64_t>()),
                    e.value("id", "").c_str(), e.value("role", "").c_str(),
                    e.value("type", "").c_str(), e.value("attempts", 0),
                    e.value("reason", "").c_str());
      return exit_ok;
    });
  });

  auto ro = std::make_shared<client_options>();
  auto seqs = std::make_shared<std::vector<std::uint64_t>>();
  auto* requeue = dlq->add_subcommand("requeue", "Put dead letters back in the queue");
  requeue->add_option("seq", *seqs, "Dead-letter sequence numbers")->required();
  add_client_options(requeue, ro);
  requeue->callback([ro, seqs] {
    run([&] {
      client c{*ro};
      for (auto seq : *seqs) {
        auto r = c.call("POST", "/v1/dlq/" + std::to_string(seq) + "/requeue");
        std::printf("%s\n",
                    ro->json_out
                      ? r.dump().c_str()
                      : (std::to_string(seq) + " requeued as " + r.value("id", "")).c_str());
      }
      return exit_ok;
    });
  });

  auto po = std::make_shared<client_options>();
  auto pseqs = std::make_shared<std::vector<std::uint64_t>>();
  auto all = std::make_shared<bool>(false);
  auto* purge = dlq->add_subcommand("purge", "Delete dead letters: the given ones, or --all");
  purge->add_option("seq", *pseqs, "Dead-letter sequence numbers");
  purge->add_flag("--all", *all, "Delete every dead letter");
  add_client_options(purge, po);
  purge->callback([po, pseqs, all] {
    run([&] {
      if (pseqs->empty() != *all)
        die(exit_bad_request, "give sequence numbers or --all");
      client c{*po};
      auto targets = *pseqs;
      if (*all) {
        std::uint64_t from = 1;
        for (;;) {
          auto d = c.call("GET", "/v1/dlq?limit=1000&from=" + std::to_string(from));
          for (const auto& e : d["dead_letters"])
            targets.push_back(e["seq"].get<std::uint64_t>());
          if (d["dead_letters"].size() < 1000)
            break;
          from = d["next_seq"].get<std::uint64_t>();
        }
      }
      for (auto seq : targets)
        c.call("DELETE", "/v1/dlq/" + std::to_string(seq));
      std::printf("%s\n", po->json_out ? json{{"deleted", targets}}.dump().c_str()
                                       : ("deleted " + std::to_string(targets.size())).c_str());
      return exit_ok;
    });
  });
}

} // namespace

void add_client_commands(CLI::App& app) {
  add_submit(app);
  add_status_watch_cancel(app);
  add_queues(app);
  add_dlq(app);
}

} // namespace smith::services
