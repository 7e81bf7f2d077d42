// Handler processes (docs/HANDLER-PROTOCOL.md) as users run them: a real `smith worker
// --handler-process` with Python handlers written with the SDK (clients/python), tasks submitted
// with the `smith` CLI, a handler process that dies mid-task, cancel and deadline reaching a
// Python handler, and processes that break the protocol until the worker gives up.
#include "worker_harness.hpp"

#include "support/command.hpp"

namespace {

using namespace smith::testing;

// The test venv's Python (scripts/test-venv: msgpack for the SDK) and the SDK's directory.
struct python_handlers {
  std::string python;
  std::string sdk;
  std::string module;

  python_handlers() {
    const char* py = std::getenv("PROMETHEUS_PYTHON");
    const char* dir = std::getenv("PYTHON_SDK_DIR");
    const char* handlers = std::getenv("PY_HANDLERS");
    REQUIRE_MESSAGE((py != nullptr && dir != nullptr && handlers != nullptr),
                    "PROMETHEUS_PYTHON, PYTHON_SDK_DIR and PY_HANDLERS: run through meson test");
    python = py;
    sdk = dir;
    module = handlers;
  }

  std::vector<std::string> worker_args(int processes) const {
    return {"--concurrency",       "4",
            "--handler-process",   python + " " + module,
            "--handler-processes", std::to_string(processes)};
  }
};

// `smith <args>` against the test's server.
command_result smith_cli(const server_fixture& f, std::vector<std::string> args) {
  args.insert(args.begin(), smith_binary());
  return run_command(args, {{"SMITH_NATS_URL", f.s.server.url()}, {"SMITH_ROLES", "test"}}, {},
                     60s);
}

// Counts the progress events of one task (core NATS, smith.event.<id>).
struct event_counter {
  event_counter(tp::connection& conn, const std::string& id) {
    natsSubscription* raw = nullptr;
    REQUIRE(
      natsConnection_Subscribe(&raw, conn.native(), ("smith.event." + id).c_str(), &on_msg, this)
      == NATS_OK);
    sub.reset(raw);
    REQUIRE(natsConnection_FlushTimeout(conn.native(), 2000) == NATS_OK);
  }

  static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
    tp::msg_handle hold{msg};
    std::string_view body{natsMsg_GetData(msg),
                          static_cast<std::size_t>(natsMsg_GetDataLength(msg))};
    if (body.find("\"progress\"") != std::string_view::npos)
      ++static_cast<event_counter*>(self)->progress;
  }

  std::atomic<int> progress{0};
  tp::subscription_handle sub;
};

// The result of task `id` once it has come.
std::optional<tp::wire::result> result_of(server_fixture& f, const std::string& id,
                                          std::chrono::milliseconds within) {
  (void)wait_until([&] { return f.results.get(id).has_value(); }, within);
  return f.results.get(id);
}

} // namespace

TEST_CASE("Python handlers run a role's tasks; the smith CLI submits to them") {
  python_handlers py;
  server_fixture f{"handler-process"};
  worker_process w{f.s.server.url(), f.dir, py.worker_args(2), {{"PYTHONPATH", py.sdk}}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());

  auto echo = smith_cli(f, {"submit", "--role", "test", "--type", "echo", "--payload",
                            R"({"from": "the CLI"})", "--wait"});
  INFO(echo.err << w.log_text());
  CHECK(echo.exit_code == 0);
  CHECK(echo.out.find(R"({"from":"the CLI"})") != std::string::npos);
  auto rejected =
    smith_cli(f, {"submit", "--role", "test", "--type", "reject", "--payload", "1", "--wait"});
  CHECK(rejected.exit_code == 1);
  CHECK(rejected.err.find("no such thing") != std::string::npos);
  CHECK(w.log_text().find("echo of 18 bytes") != std::string::npos); // a log frame

  // Progress goes out as the task's events.
  event_counter events{*f.s.conn, "nap-1"};
  f.publish("nap-1", "nap", R"({"ms": 500})");
  auto nap = result_of(f, "nap-1", 20s);
  REQUIRE(nap);
  CHECK(nap->ok);
  CHECK(nap->output == "slept 500 ms");
  CHECK(events.progress >= 5);

  // The process dies in the middle of the task: the attempt fails, the process is started
  // again, and the redelivery succeeds on it.
  f.publish("crash-1", "crash_once", "");
  auto crash = result_of(f, "crash-1", 30s);
  REQUIRE(crash);
  CHECK(crash->ok);
  CHECK(crash->output == "survived, attempt 2");
  CHECK(crash->attempts == 2);
  CHECK(w.log_text().find("handler process ended") != std::string::npos);
  CHECK(w.status("/health") == 200);
  CHECK(f.results.duplicates() == 0);
}

TEST_CASE("cancel and deadline reach a Python handler") {
  python_handlers py;
  server_fixture f{"handler-cancel"};
  worker_process w{f.s.server.url(), f.dir, py.worker_args(1), {{"PYTHONPATH", py.sdk}}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());

  event_counter events{*f.s.conn, "long-1"};
  f.publish("long-1", "nap", R"({"ms": 30000})");
  REQUIRE(wait_until([&] { return events.progress > 0; }, 20s));
  auto started = std::chrono::steady_clock::now();
  auto cancel = smith_cli(f, {"cancel", "long-1"});
  CHECK_MESSAGE(cancel.exit_code == 0, cancel.err);
  auto r = result_of(f, "long-1", 20s);
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->status == "cancelled");
  CHECK(std::chrono::steady_clock::now() - started < 10s); // the handler stopped, not slept on

  // A handler that ignores its cancel: its process is killed after the grace (5 s), the task
  // ends cancelled, and a new process takes the next task.
  f.publish("stubborn-1", "stubborn", R"({"ms": 60000})");
  REQUIRE(
    wait_until([&] { return w.log_text().find("stubborn started") != std::string::npos; }, 20s));
  auto stubborn_at = std::chrono::steady_clock::now();
  CHECK(smith_cli(f, {"cancel", "stubborn-1"}).exit_code == 0);
  REQUIRE(wait_until(
    [&] { return w.log_text().find("\"task_id\":\"stubborn-1\"") != std::string::npos; }, 20s));
  auto waited = std::chrono::steady_clock::now() - stubborn_at;
  CHECK(waited >= 4s); // it had its grace
  CHECK(waited < 15s); // and no more: not its 60 s
  CHECK(w.log_text().find("handler process ended") != std::string::npos);
  f.publish("after-1", "echo", "still served");
  auto after = result_of(f, "after-1", 20s);
  REQUIRE(after);
  CHECK(after->output == "still served");

  auto late = smith_cli(f, {"submit", "--role", "test", "--type", "nap", "--payload",
                            R"({"ms": 30000})", "--deadline", "1s", "--wait", "--json"});
  INFO(late.out << late.err);
  CHECK(late.exit_code == 1);
  CHECK(late.out.find("deadline") != std::string::npos);
  CHECK(w.status("/health") == 200);
}

TEST_CASE("handler processes that break the protocol are restarted until the worker gives up") {
  server_fixture f{"handler-garbage"};
  // echo writes text where a frame's length should be: a length far over 16 MiB.
  worker_process w{f.s.server.url(),
                   f.dir,
                   {"--handler-process", "/bin/echo garbage", "--handler-processes", "1",
                    "--max-restarts", "2", "--restart-period", "60s", "--exit-grace", "100ms"}};
  CHECK(wait_until([&] { return !w.process.running(); }, 30s));
  CHECK(w.process.describe_exit() == "exited with status 3");
  auto log = w.log_text();
  CHECK(log.find("broke the protocol: a frame length of") != std::string::npos);
  CHECK(log.find("supervisor gave up") != std::string::npos);
}
