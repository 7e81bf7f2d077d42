#include "worker_harness.hpp"

#include "transport/clock.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/headers.hpp"

#include <msgpack.hpp>

#include <fstream>
#include <sstream>

using namespace smith::testing;

namespace {

struct fixture : server_fixture {
  explicit fixture(tp::topology_config cfg = worker_topology())
    : server_fixture("smith-worker-test-", std::move(cfg)) {
  }
};

// The sum of a Prometheus metric's samples: lines "<name> N" and "<name>{labels} N". (Not
// std::regex: GCC 12 warns inside <regex> under ASan, and CI builds with -Werror.)
std::uint64_t metric(const std::string& text, const std::string& name) {
  std::uint64_t sum = 0;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(name) || line.size() <= name.size())
      continue;
    auto next = line[name.size()];
    if (next != ' ' && next != '{')
      continue;
    sum += std::stoull(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

} // namespace

TEST_CASE("a worker runs echo tasks and publishes their results") {
  fixture f;
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "4"}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  CHECK(w.status("/health") == 200);
  for (int i = 0; i < 20; ++i)
    f.publish("e-" + std::to_string(i), "echo", "hello " + std::to_string(i));
  REQUIRE_MESSAGE(f.wait_results(20), w.log_text());
  auto r = f.results.get("e-7");
  REQUIRE(r.has_value());
  CHECK(r->ok);
  CHECK(r->output == "hello 7");
  CHECK(r->attempts == 1);
  CHECK(r->worker.find(':') != std::string::npos);
  // A result is visible once stored; the worker counts the task (and logs its line) when its
  // publish ack comes back a moment later.
  CHECK(wait_until([&] { return metric(w.metrics(), "smith_tasks_total") == 20; }, 10s));
  // Log lines carry what the operators' queries parse.
  CHECK(wait_until(
    [&] {
      return w.log_text().find(R"("msg":"task_duration","task_id":"e-7")") != std::string::npos;
    },
    10s));
}

TEST_CASE("a crashing handler is retried after its actor restarts, and then succeeds") {
  fixture f;
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  f.publish("crash-1", "fail", R"({"fail_times":1})");
  REQUIRE_MESSAGE(f.wait_results(1), w.log_text());
  auto r = f.results.get("crash-1");
  REQUIRE(r.has_value());
  CHECK(r->ok);
  CHECK(r->attempts == 2);
  CHECK(metric(w.metrics(), "smith_actor_restarts_total") >= 1);
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
}

TEST_CASE("past the restart intensity /health turns 503 and the process exits non-zero") {
  fixture f;
  worker_process w{
    f.s.server.url(),
    f.dir,
    {"--concurrency", "1", "--max-restarts", "1", "--restart-period", "60s", "--exit-grace", "3s"}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  for (int i = 0; i < 3; ++i)
    f.publish("boom-" + std::to_string(i), "fail", R"({"fail_times":100})");
  CHECK_MESSAGE(wait_until([&] { return w.status("/health") == 503; }, 30s), w.log_text());
  REQUIRE(wait_until([&] { return !w.process.running(); }, 30s));
  CHECK(w.process.describe_exit() == "exited with status 3");
  CHECK(w.log_text().find("restart_intensity") != std::string::npos);
}

TEST_CASE("a worker holds no more long tasks than its concurrency, besides results being stored") {
  // Handlers of 100 ms are past the prefetch budget (10 ms): nothing is fetched for a worker
  // that is not idle, so a second worker of the fleet would get the rest. The server sees a
  // task as held until its ack: an attempt whose result is being stored counts while its
  // worker already runs the next one, so at most twice the concurrency, for a moment.
  fixture f;
  constexpr int n = 30;
  for (int i = 0; i < n; ++i)
    f.publish("bp-" + std::to_string(i), "sleep", "100");
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  auto consumer = f.s.consumer();
  std::int64_t most = 0;
  int samples = 0;
  REQUIRE_MESSAGE(wait_until(
                    [&] {
                      if (auto info = consumer->info()) {
                        most = std::max(most, info->num_ack_pending);
                        ++samples;
                      }
                      return f.results.distinct() >= n;
                    },
                    120s, 5ms),
                  w.log_text());
  MESSAGE("num_ack_pending sampled " << samples << " times, at most " << most);
  CHECK(samples > 20);
  CHECK(most <= 4);
  CHECK(most >= 1);
}

TEST_CASE("short tasks are prefetched, and a drain hands the prefetched ones back at once") {
  // AckWait at its shipped default: a prefetched task kept back would wait 5 minutes.
  auto cfg = fixture::worker_topology();
  cfg.ack_wait = 300s;
  fixture f{cfg};
  worker_process a{f.s.server.url(), f.dir, {"--concurrency", "1", "--drain-timeout", "30s"}};
  REQUIRE(a.wait_ready());
  // Short tasks teach the dispatcher that a handler takes about 1 ms: it then keeps about
  // ten more in hand than its one worker.
  constexpr int warm = 20;
  for (int i = 0; i < warm; ++i)
    f.publish("pf-warm-" + std::to_string(i), "sleep", "1");
  REQUIRE_MESSAGE(f.wait_results(warm, 30s), a.log_text());
  constexpr int n = 200;
  for (int i = 0; i < n; ++i)
    f.publish("pf-" + std::to_string(i), "sleep", "2");
  auto consumer = f.s.consumer();
  std::int64_t most = 0;
  // Drain while it holds more than it runs (one running, one storing at most otherwise); on a
  // slow machine (sanitizers) handlers may pass the budget and nothing is prefetched: then
  // drain halfway through, which must hand back just the same.
  REQUIRE(wait_until(
    [&] {
      if (auto info = consumer->info())
        most = std::max(most, info->num_ack_pending);
      return most >= 3 || f.results.distinct() >= warm + n / 2;
    },
    60s, 1ms));
  MESSAGE("num_ack_pending reached " << most << " with concurrency 1");
  ::kill(a.process.pid(), SIGTERM);
  REQUIRE(wait_until([&] { return !a.process.running(); }, 40s));
  CHECK(a.process.describe_exit() == "exited with status 0");
  // Whatever it held and did not run went back at once: the next worker gets it now, not
  // after AckWait's 5 minutes.
  worker_process b{f.s.server.url(), f.dir, {"--concurrency", "4"}};
  REQUIRE_MESSAGE(f.wait_results(warm + n, 60s), b.log_text());
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
}

TEST_CASE("kill -9 of one of two workers mid-task loses nothing") {
  fixture f;
  worker_process a{f.s.server.url(), f.dir, {"--concurrency", "4"}};
  worker_process b{f.s.server.url(), f.dir, {"--concurrency", "4"}};
  REQUIRE(a.wait_ready());
  REQUIRE(b.wait_ready());
  constexpr int n = 100;
  for (int i = 0; i < n; ++i)
    f.publish("k9-" + std::to_string(i), "sleep", "50");
  REQUIRE(wait_until([&] { return f.results.distinct() >= 10; }, 60s));
  a.process.kill();
  REQUIRE_MESSAGE(f.wait_results(n, 120s), b.log_text());
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
  MESSAGE("duplicate results after kill -9: " << f.results.duplicates());
}

TEST_CASE("SIGTERM lets in-flight tasks finish, hands the rest back, and exits 0") {
  // AckWait at its shipped default: anything the draining worker kept instead of handing
  // back would wait 5 minutes, far past this test's deadlines.
  auto cfg = fixture::worker_topology();
  cfg.ack_wait = 300s;
  fixture f{cfg};
  worker_process a{f.s.server.url(), f.dir, {"--concurrency", "2", "--drain-timeout", "30s"}};
  REQUIRE(a.wait_ready());
  constexpr int n = 20;
  for (int i = 0; i < n; ++i)
    f.publish("term-" + std::to_string(i), "sleep", "300");
  auto consumer = f.s.consumer();
  REQUIRE(wait_until(
    [&] {
      auto info = consumer->info();
      return info && info->num_ack_pending == 2;
    },
    20s));
  ::kill(a.process.pid(), SIGTERM);
  REQUIRE(wait_until([&] { return !a.process.running(); }, 40s));
  CHECK(a.process.describe_exit() == "exited with status 0");
  auto done_by_a = f.results.distinct();
  CHECK(done_by_a >= 2); // the two in flight finished
  worker_process b{f.s.server.url(), f.dir, {"--concurrency", "4"}};
  REQUIRE_MESSAGE(f.wait_results(n, 60s), b.log_text());
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
  CHECK(a.log_text().find("\"draining\"") != std::string::npos);
}

TEST_CASE("workers drained one after another while tasks flow hand every task on at once") {
  auto cfg = fixture::worker_topology();
  cfg.ack_wait = 300s; // the shipped default: a message kept back would wait 5 minutes
  fixture f{cfg};
  constexpr int n = 80;
  for (int i = 0; i < n; ++i)
    f.publish("relay-" + std::to_string(i), "sleep", "60");
  // Each worker is stopped while its fetcher has pull requests open and tasks in transit.
  std::size_t goal = 0;
  for (int round = 0; round < 3; ++round) {
    worker_process w{f.s.server.url(), f.dir, {"--concurrency", "6", "--drain-timeout", "30s"}};
    REQUIRE(w.wait_ready());
    goal += 15;
    REQUIRE_MESSAGE(wait_until([&] { return f.results.distinct() >= goal; }, 60s), w.log_text());
    ::kill(w.process.pid(), SIGTERM);
    REQUIRE(wait_until([&] { return !w.process.running(); }, 40s));
    CHECK(w.process.describe_exit() == "exited with status 0");
  }
  worker_process last{f.s.server.url(), f.dir, {"--concurrency", "6"}};
  REQUIRE_MESSAGE(f.wait_results(n, 60s), last.log_text());
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
}

TEST_CASE("a garbage body lands in the dead-letter stream with a reason; the worker goes on") {
  fixture f;
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  tp::outgoing junk;
  junk.subject = "smith.task.test.echo.junk-1";
  junk.body = "this is not msgpack";
  junk.msg_id = "junk-1";
  must(f.s.pub->publish(junk, 5s));
  f.publish("after-junk", "echo", "still here");
  REQUIRE(f.wait_results(1));
  CHECK(f.results.get("after-junk")->ok);
  REQUIRE(wait_until([&] { return stream_msgs(*f.s.conn, "SMITH_DLQ") == 1; }, 10s));
  natsMsg* m = nullptr; // read the dead letter back
  REQUIRE(js_GetLastMsg(&m, f.s.conn->jetstream(), "SMITH_DLQ", "smith.dlq.test.unknown", nullptr,
                        nullptr)
          == NATS_OK);
  tp::msg_handle hold{m};
  auto dl = must(tp::wire::decode_dead_letter(
    {natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))}));
  CHECK(dl.reason.find("undecodable task body") != std::string::npos);
  CHECK(dl.original == "this is not msgpack");
  CHECK(dl.subject == "smith.task.test.echo.junk-1");
}

TEST_CASE("a task in the version 1 form, or whose subject and body disagree, is a dead letter "
          "saying so") {
  fixture f;
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  auto send = [&](std::string subject, std::string body, std::string msg_id) {
    tp::outgoing out;
    out.subject = std::move(subject);
    out.body = std::move(body);
    out.msg_id = std::move(msg_id);
    must(f.s.pub->publish(out, 5s));
  };
  using tp::wire::encode;
  send("smith.task.test.echo", encode(make_task("v1-form")), "v1-form"); // no id in the subject
  send("smith.task.test.echo.other", encode(make_task("mismatch")), "mismatch"); // id differs
  // A version 1 body on a version 2 subject: the body's "v" is 1.
  auto v1 = encode(make_task("v1-body"));
  auto at = v1.find(std::string{"\xa1v\x02", 3});
  REQUIRE(at != std::string::npos);
  v1[at + 2] = 1;
  send("smith.task.test.echo.v1-body", v1, "v1-body");
  f.publish("after-v1", "echo", "still here");
  REQUIRE(f.wait_results(1));
  CHECK(f.results.get("after-v1")->ok);
  REQUIRE(wait_until([&] { return stream_msgs(*f.s.conn, "SMITH_DLQ") == 3; }, 10s));
  std::map<std::string, std::string> reasons; // original subject → reason
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    auto m = must(tp::message_at(*f.s.conn, "SMITH_DLQ", seq));
    REQUIRE(m.has_value());
    auto dl = must(tp::wire::decode_dead_letter(m->data));
    reasons[dl.subject] = dl.reason;
  }
  CHECK(reasons["smith.task.test.echo"].find("wire version 2 puts the task id last")
        != std::string::npos);
  CHECK(reasons["smith.task.test.echo.other"].find("does not match the body's type \"echo\" and "
                                                   "id \"mismatch\"")
        != std::string::npos);
  CHECK(reasons["smith.task.test.echo.v1-body"].find("unsupported wire version 1")
        != std::string::npos);
  CHECK(f.results.get("v1-form") == std::nullopt);
  CHECK(w.process.running());
}

TEST_CASE("exec refuses a program that is not on the allow-list, with a clear error result") {
  fixture f;
  worker_process w{
    f.s.server.url(), f.dir, {"--concurrency", "1"}, {{"SMITH_EXEC_ALLOW", "echo=/bin/echo"}}};
  REQUIRE(w.wait_ready());
  f.publish("ex-ok", "exec", R"({"argv":["echo","hi"]})");
  f.publish("ex-no", "exec", R"({"argv":["rm","-rf","/tmp/x"]})");
  REQUIRE_MESSAGE(f.wait_results(2), w.log_text());
  CHECK(f.results.get("ex-ok")->ok);
  auto no = f.results.get("ex-no");
  CHECK_FALSE(no->ok);
  REQUIRE(no->error.has_value());
  CHECK(no->error->find("allow-list") != std::string::npos);
}

TEST_CASE("a user's own worker binary runs its handlers and keeps the built-in ones") {
  const char* bin = std::getenv("CUSTOM_WORKER_BIN");
  REQUIRE_MESSAGE(bin != nullptr, "CUSTOM_WORKER_BIN is not set: run through meson test");
  fixture f;
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}, {}, {bin}};
  REQUIRE_MESSAGE(w.wait_ready(), w.log_text());
  f.publish("shout-1", "shout", "hello");
  f.publish("wc-empty", "word_count", "");
  f.publish("echo-1", "echo", "built in");
  REQUIRE_MESSAGE(f.wait_results(3), w.log_text());
  CHECK(f.results.get("shout-1")->output == "HELLO");
  CHECK(f.results.get("echo-1")->output == "built in");
  auto wc = f.results.get("wc-empty");
  CHECK_FALSE(wc->ok);
  CHECK(wc->error->find("payload is empty") != std::string::npos);
  REQUIRE(wait_until([&] { return stream_msgs(*f.s.conn, "SMITH_DLQ") == 1; }, 10s));
  ::kill(w.process.pid(), SIGTERM);
  REQUIRE(wait_until([&] { return !w.process.running(); }, 30s));
  CHECK(w.process.describe_exit() == "exited with status 0");
}
