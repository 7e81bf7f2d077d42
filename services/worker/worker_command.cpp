#include "services/worker/worker_command.hpp"

#include "services/worker/handler_processes.hpp"

#include "actors/dispatcher.hpp"
#include "actors/handlers/role_policy.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/supervisor.hpp"
#include "actors/worker.hpp"
#include "services/common/http_server.hpp"
#include "services/common/logging.hpp"
#include "services/common/lost_connection.hpp"
#include "services/common/service_setup.hpp"
#include "services/common/signals.hpp"
#include "services/worker/log.hpp"
#include "transport/clock.hpp"
#include "transport/config.hpp"
#include "transport/connection.hpp"
#include "transport/library.hpp"
#include "transport/subscription.hpp"
#include "transport/topology.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

namespace smith::services::worker {

namespace tp = smith::transport;
using namespace std::chrono_literals;

namespace {

struct worker_options {
  std::string role;
  int concurrency = 4;
  int http_port = 8080;
  std::string http_host = "0.0.0.0";
  std::string drain_timeout = "100s";
  std::string restart_period = "60s";
  int max_restarts = 10;
  std::string exit_grace = "2s";
  std::string metrics_max_types = std::to_string(actors::metrics::default_max_types);
  bool apply_topology = true;
  handler_process_options handlers;
};

// What the process-level threads share: set by signals, the supervisor, the dispatcher.
struct process_state {
  std::mutex mtx;
  std::condition_variable cv;
  bool stop_requested = false;
  std::string gave_up; // the root supervisor's reason, empty while healthy
  std::string lost;    // why the NATS connection closed for good, empty while it has not
  std::atomic<bool> healthy{true};
  std::atomic<bool> bound{false};
  std::atomic<bool> draining{false};
};

std::string host_name() {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

tp::milliseconds duration_or_throw(const char* what, const std::string& text) {
  auto d = tp::parse_duration(text);
  if (!d)
    throw std::invalid_argument(std::string{what} + "=\"" + text + "\": " + d.error().message());
  return *d;
}

// A positive integer, or nothing (CLI11 would refuse a bad one with no word of what it means).
std::optional<std::size_t> positive_integer(std::string_view text) {
  std::size_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size() || n == 0)
    return std::nullopt;
  return n;
}

int run_worker(const worker_options& o, actors::handler_registry registry) {
  // main() blocked these in every thread; only sigwait below sees them.
  auto sigs = common::stop_signal_set();
  common::setup_json_logging();
  // Programs that exec runs have the worker's uid: not dumpable, the worker's memory and
  // /proc/<pid>/environ (NATS password, AWS credentials URI) are closed to them (no core files).
  ::prctl(PR_SET_DUMPABLE, 0);

  auto settings = common::read_service_settings(log());
  if (!settings)
    return 2;
  auto* cc = &settings->connection;
  auto* tc = &settings->topology;
  if (o.role.empty() || !tp::wire::is_subject_token(o.role)) {
    SMITH_LOG(log(), error, "bad configuration", {"error_type", "config"},
              {"error", "--role/SMITH_ROLE must be one subject token, got \"" + o.role + "\""});
    return 2;
  }
  if (o.concurrency < 1 || o.concurrency > 1024) {
    SMITH_LOG(log(), error, "bad configuration", {"error_type", "config"},
              {"error", "--concurrency must be 1 to 1024"});
    return 2;
  }
  auto max_types = positive_integer(o.metrics_max_types);
  if (!max_types) {
    SMITH_LOG(log(), error, "bad configuration", {"error_type", "config"},
              {"error", "--metrics-max-types/SMITH_METRICS_MAX_TYPES must be a positive integer "
                        "(the task types /metrics counts by name), got \""
                          + o.metrics_max_types + "\""});
    return 2;
  }
  auto drain_timeout = duration_or_throw("SMITH_DRAIN_TIMEOUT", o.drain_timeout);
  auto exit_grace = duration_or_throw("SMITH_EXIT_GRACE", o.exit_grace);
  auto worker_name = host_name() + ":" + std::to_string(getpid());
  cc->name = "smith-worker-" + o.role;
  // Writes gather for up to a millisecond; the dispatcher and the fetch thread flush at once
  // when a write should not wait (an idle worker's result, a pull request).
  cc->coalesce_writes = true;

  auto exec_allow = actors::handlers::exec_allow_list(o.role, std::getenv("SMITH_EXEC_ALLOW"));
  // A file the worker can read, the programs it runs (same uid) can read too: with any exec
  // program allowed, secrets come as text (kept in a memory file) or not at all.
  if (auto refused = secret_file_refused(*cc, exec_allow, !o.handlers.command.empty())) {
    SMITH_LOG(log(), error, "bad configuration", {"error_type", "config"}, {"error", *refused});
    return 2;
  }

  auto conn = tp::connection::connect(*cc);
  if (!conn) {
    SMITH_LOG(log(), error, "cannot connect", {"error_type", tp::to_string(conn.error().code())},
              {"error", conn.error().message()});
    return 1;
  }
  if (tc->roles.end() == std::find(tc->roles.begin(), tc->roles.end(), o.role))
    tc->roles.push_back(o.role);
  if (o.apply_topology && (*conn)->connected())
    common::create_missing_topology(**conn, *tc, log());

  process_state ps;
  // A connection nats.c closed on its own never comes back: the process is of no use, so it
  // goes unhealthy and exits, saying why.
  common::lost_connection_watch watch{*conn, [&ps](const std::string& why) {
                                        ps.healthy = false;
                                        std::lock_guard guard{ps.mtx};
                                        ps.lost = why;
                                        ps.cv.notify_all();
                                      }};
  auto stats = std::make_shared<actors::metrics>(o.role, *max_types);
  // With handler processes every type the binary does not handle itself goes to them.
  auto pool = make_handler_pool(o.handlers, o.role, o.concurrency);
  if (pool)
    registry.set_fallback(actors::handlers::make_process_handler(pool));
  else
    actors::handlers::add_builtin_handlers(registry, o.role, exec_allow);

  caf::actor_system_config sys_cfg;
  // One scheduler thread, blocking on a condition variable when idle (work sharing). It runs
  // the dispatcher and the in-process handlers, which must not block (echo, fail; a handler is
  // blocking unless registered otherwise, and each blocking one runs on a thread of its own),
  // so messages between them never cross threads. CAF's default, work stealing on a thread per
  // core, polls with 50 us sleeps when idle: measured, a third of a busy worker's CPU went to
  // context switches, and a second thread cost 12% of the throughput in hand-offs.
  sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  sys_cfg.set("scheduler.max-threads", std::size_t{1});
  caf::actor_system sys{sys_cfg};

  actors::dispatcher_config dc;
  dc.role = o.role;
  dc.worker_name = worker_name;
  dc.names = tp::wire::subjects{tc->prefix};
  dc.ack_wait = tc->backoff.empty() ? tc->ack_wait : tc->backoff.front();
  dc.max_deliver = tc->max_deliver;
  dc.drain_timeout = drain_timeout;
  dc.limits.max_body_bytes = static_cast<std::size_t>(tc->max_msg_bytes);
  dc.conn = *conn;
  dc.stats = stats;
  dc.on_ready = [&ps](bool b) { ps.bound = b; };

  actors::worker_config wc;
  wc.registry = &registry;
  auto event_conn = *conn;
  auto names = dc.names;
  wc.progress = [event_conn, names](const std::string& id, int pct, std::string_view msg) {
    auto body = nlohmann::json{{"id", id},
                               {"kind", "progress"},
                               {"percent", pct},
                               {"message", msg},
                               {"ts_ms", tp::unix_ms()}}
                  // A handler's message may hold any bytes: non-UTF-8 ones go out as U+FFFD.
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    (void)tp::publish_core(*event_conn, names.event(id), body);
  };
  // `smith queues` and the orchestrator count the workers of each role by asking them.
  auto ping =
    tp::subscription::create(*conn, names.worker_ping(),
                             [weak = std::weak_ptr<tp::connection>{*conn}, stats, role = o.role,
                              worker_name, concurrency = o.concurrency](auto& m) {
                               auto c = weak.lock();
                               if (m.reply.empty() || !c)
                                 return;
                               auto body = nlohmann::json{{"worker", worker_name},
                                                          {"role", role},
                                                          {"concurrency", concurrency},
                                                          {"in_flight", stats->in_flight()}}
                                             .dump();
                               (void)tp::publish_core(*c, std::string{m.reply}, body);
                             });
  if (!ping)
    SMITH_LOG(log(), warn, "cannot answer worker pings", {"error", ping.error().message()});

  actors::supervisor_config workers;
  workers.name = "workers";
  workers.intensity.max_restarts = o.max_restarts;
  workers.intensity.period = duration_or_throw("SMITH_RESTART_PERIOD", o.restart_period);
  for (int i = 0; i < o.concurrency; ++i)
    workers.children.push_back({"worker-" + std::to_string(i),
                                [wc](caf::local_actor* p) { return actors::spawn_worker(p, wc); }});
  workers.on_restart = [stats](const std::string&) { stats->restarted(); };

  actors::supervisor_config root;
  root.name = "root";
  root.strategy = actors::restart_strategy::rest_for_one;
  root.intensity = workers.intensity;
  root.children.push_back(
    {"dispatcher", [dc](caf::local_actor* p) { return actors::spawn_dispatcher(p, dc); }});
  root.children.push_back(actors::supervisor_child(workers));
  root.on_restart = [stats](const std::string&) { stats->restarted(); };
  root.on_give_up = [&ps](const std::string& why) {
    ps.healthy = false;
    std::lock_guard guard{ps.mtx};
    ps.gave_up = why;
    ps.cv.notify_all();
  };
  if (pool) // first: a restart of the dispatcher (rest_for_one) leaves the processes alone
    root.children.insert(root.children.begin(), actors::supervisor_child(handler_process_supervisor(
                                                  pool, workers.intensity, root.on_give_up)));

  common::http_endpoints ep;
  ep.healthy = [&ps] { return ps.healthy.load(); };
  ep.ready = [&ps, c = *conn] { return ps.healthy && ps.bound && !ps.draining && c->connected(); };
  ep.metrics = [stats, c = *conn] { return stats->render(c->reconnects()); };
  std::unique_ptr<common::http_server> http;
  try {
    http = std::make_unique<common::http_server>(o.http_host, o.http_port, ep);
  } catch (const std::exception& e) {
    SMITH_LOG(log(), error, "cannot serve http", {"error_type", "http"}, {"error", e.what()});
    return 1;
  }
  auto sup = actors::spawn_supervisor(sys, root);
  SMITH_LOG(log(), info, "worker started", {"role", o.role}, {"concurrency", o.concurrency},
            {"http_port", http->port()}, {"worker", worker_name},
            {"types", fmt::format("{}", fmt::join(registry.types(), ","))});

  std::thread signals{[&ps, sigs] {
    int sig = 0;
    sigwait(&sigs, &sig);
    std::lock_guard guard{ps.mtx};
    ps.stop_requested = true;
    ps.cv.notify_all();
  }};
  signals.detach(); // blocked in sigwait when the process ends another way

  std::unique_lock lock{ps.mtx};
  ps.cv.wait(lock, [&ps] { return ps.stop_requested || !ps.gave_up.empty() || !ps.lost.empty(); });
  if (!ps.gave_up.empty() || !ps.lost.empty()) {
    lock.unlock();
    if (!ps.gave_up.empty())
      SMITH_LOG(log(), error, "supervisor gave up; exiting so the orchestrator replaces this task",
                {"error_type", "restart_intensity"}, {"error", ps.gave_up});
    else
      SMITH_LOG(log(), error,
                "the NATS connection closed for good; exiting so the orchestrator replaces this "
                "task",
                {"error_type", "nats_closed"}, {"error", ps.lost});
    // /health answers 503 for a moment before the process goes.
    std::this_thread::sleep_for(exit_grace);
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    (*conn)->close();
    tp::logging::flush(); // _Exit runs no atexit handlers: gathered task lines go out now
    std::fflush(stdout);
    std::_Exit(3);
  }
  lock.unlock();
  SMITH_LOG(log(), info, "draining", {"drain_timeout_ms", drain_timeout.count()});
  ps.draining = true;
  {
    caf::scoped_actor self{sys};
    auto d = caf::actor_cast<caf::actor>(sys.registry().get(actors::dispatcher_atom::value));
    if (d) {
      self->monitor(d);
      self->send(d, actors::drain_atom::value);
      self->receive([](const caf::down_msg&) {},
                    caf::after(drain_timeout + 15s) >>
                      [] { SMITH_LOG(log(), warn, "dispatcher did not finish draining in time"); });
    }
    if (pool)
      pool->stop(); // the processes get end of input, and their actors end
    self->send_exit(sup, caf::exit_reason::user_shutdown);
  }
  if (auto r = (*conn)->drain(10s); !r)
    SMITH_LOG(log(), warn, "connection drain", {"error", r.error().message()});
  http.reset();
  SMITH_LOG(log(), info, "worker stopped", {"succeeded", stats->count("succeeded")},
            {"failed", stats->count("failed")}, {"retried", stats->count("retried")});
  return 0;
}

// The worker's flags, on `smith worker` and on a user's own worker binary alike.
void add_worker_options(CLI::App* cmd, const std::shared_ptr<worker_options>& o) {
  cmd->add_option("--role", o->role, "Role to serve")->envname("SMITH_ROLE")->required();
  cmd->add_option("--concurrency", o->concurrency, "Tasks run at once")
    ->envname("SMITH_CONCURRENCY")
    ->capture_default_str();
  cmd->add_option("--http-port", o->http_port, "Port of /health, /ready, /metrics (0: any)")
    ->envname("SMITH_HTTP_PORT")
    ->capture_default_str();
  cmd->add_option("--http-host", o->http_host, "Address to serve HTTP on")
    ->envname("SMITH_HTTP_HOST")
    ->capture_default_str();
  cmd
    ->add_option("--drain-timeout", o->drain_timeout,
                 "On SIGTERM, how long in-flight tasks may run before they are handed back")
    ->envname("SMITH_DRAIN_TIMEOUT")
    ->capture_default_str();
  cmd
    ->add_option("--max-restarts", o->max_restarts,
                 "Restarts allowed per --restart-period before the process exits unhealthy")
    ->envname("SMITH_MAX_RESTARTS")
    ->capture_default_str();
  cmd->add_option("--restart-period", o->restart_period, "Window of --max-restarts")
    ->envname("SMITH_RESTART_PERIOD")
    ->capture_default_str();
  cmd
    ->add_option("--exit-grace", o->exit_grace,
                 "How long /health shows 503 before an unhealthy process exits")
    ->envname("SMITH_EXIT_GRACE")
    ->capture_default_str();
  cmd
    ->add_option("--metrics-max-types", o->metrics_max_types,
                 "Task types /metrics counts by name; the rest count as type=\"other\"")
    ->envname("SMITH_METRICS_MAX_TYPES")
    ->type_name("INT")
    ->capture_default_str();
  cmd->add_flag("!--no-apply-topology", o->apply_topology,
                "Do not create/update streams and consumers at start-up");
  add_handler_process_options(cmd, o->handlers);
}

} // namespace

void add_worker_command(CLI::App& app) {
  auto o = std::make_shared<worker_options>();
  auto* cmd = app.add_subcommand("worker", "Run the workers of one role (SIGTERM drains)");
  add_worker_options(cmd, o);
  cmd->callback([o] { throw CLI::RuntimeError(run_worker(*o, {})); });
}

int worker_main(int argc, char** argv, actors::handler_registry registry) {
  common::block_stop_signals();
  transport::library nats;
  auto o = std::make_shared<worker_options>();
  CLI::App app{"A MisterSmith worker: runs the tasks of one role with the handlers of this "
               "program and the built-in ones. SIGTERM drains."};
  add_worker_options(&app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2; // a usage error exits 2, as `smith worker` does
  }
  try {
    return run_worker(*o, std::move(registry));
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s: bad configuration: %s\n", argv[0], e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}

} // namespace smith::services::worker
