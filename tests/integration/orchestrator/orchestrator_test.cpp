// The orchestrator over HTTP: validation, submit, dead letters, cancel.
#include "../worker/worker_harness.hpp"
#include "support/command.hpp"
#include "transport/subscription.hpp"

#include <nlohmann/json.hpp>

#include "orchestrator_harness.hpp"
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace smith::testing;
using json = nlohmann::json;

using namespace orchestrator_testing;

TEST_CASE("the API refuses bad requests with the right 4xx and publishes nothing") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto status_of = [&](const std::string& body, const char* bearer = token) {
    auto res = o.request("POST", "/v1/tasks", body, bearer);
    REQUIRE(res);
    auto doc = json::parse(res->body, nullptr, false);
    CHECK_MESSAGE(doc.is_object(), res->body);
    CHECK_MESSAGE(doc.contains("error"), res->body);
    CHECK_MESSAGE(doc.contains("detail"), res->body);
    return std::pair{res->status, doc.value("error", "")};
  };
  auto good = json{{"role", "test"}, {"type", "echo"}, {"payload", "x"}}.dump();
  CHECK(status_of(good, nullptr) == std::pair{401, std::string{"unauthorized"}});
  CHECK(status_of(good, "wrong") == std::pair{401, std::string{"unauthorized"}});
  CHECK(status_of("{not json") == std::pair{400, std::string{"invalid_json"}});
  CHECK(status_of("[1,2]") == std::pair{400, std::string{"invalid_json"}});
  CHECK(status_of(R"({"type":"echo"})") == std::pair{400, std::string{"missing_field"}});
  CHECK(status_of(R"({"role":"nope","type":"echo"})")
        == std::pair{400, std::string{"unknown_role"}});
  CHECK(status_of(R"({"role":"test","type":"a.b"})")
        == std::pair{400, std::string{"invalid_field"}});
  CHECK(status_of(R"({"role":"test","type":"echo","payload_base64":"%%%"})")
        == std::pair{400, std::string{"invalid_field"}});
  CHECK(status_of(R"({"role":"test","type":"echo","delay_ms":"soon"})")
        == std::pair{400, std::string{"invalid_field"}});
  // Over the stream's message size (64 KiB in the test topology), under the body limit.
  auto big = json{{"role", "test"}, {"type", "echo"}, {"payload", std::string(70'000, 'x')}};
  CHECK(status_of(big.dump()) == std::pair{413, std::string{"payload_too_large"}});
  // Over the body limit (SMITH_API_MAX_BODY=200000): refused before it is read.
  CHECK(status_of(std::string(300'000, ' ')).first == 413);
  // A POST without a body and without Content-Length (curl -X POST) is read as empty.
  {
    auto sock = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(o.http_port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::string req = std::string{"POST /v1/tasks/ghost/cancel HTTP/1.1\r\nHost: x\r\n"}
                      + "Authorization: Bearer " + token + "\r\nConnection: close\r\n\r\n";
    REQUIRE(::write(sock, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
    std::string answer(4096, '\0');
    auto n = ::read(sock, answer.data(), answer.size());
    ::close(sock);
    REQUIRE(n > 0);
    CHECK_MESSAGE(answer.starts_with("HTTP/1.1 404"), answer);
  }
  auto res = o.request("GET", "/v1/nothing-here");
  REQUIRE(res);
  CHECK(res->status == 404);
  res = o.request("DELETE", "/v1/tasks");
  REQUIRE(res);
  CHECK(res->status == 405);
  CHECK(res->get_header_value("Allow") == "GET, HEAD, POST");
  res = o.request("DELETE", "/v1/schedules");
  REQUIRE(res);
  CHECK(res->status == 405);
  CHECK(res->get_header_value("Allow") == "GET, HEAD, POST");
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);
  // The probes stay open without a token.
  httplib::Client open{"127.0.0.1", o.http_port};
  CHECK(open.Get("/health")->status == 200);
  CHECK(open.Get("/metrics")->status == 200);
}

TEST_CASE("a submitted task is queued, deduplicated by id, run, and reported with its result") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto req = json{{"role", "test"}, {"type", "echo"}, {"payload", {{"n", 1}}}, {"id", "api-1"}};
  auto first = o.call("POST", "/v1/tasks", req, 202);
  CHECK(first["id"] == "api-1");
  CHECK(first["duplicate"] == false);
  auto again = o.call("POST", "/v1/tasks", req, 202);
  CHECK(again["duplicate"] == true);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 1);
  auto queued = o.call("GET", "/v1/tasks/api-1", nullptr, 200);
  CHECK(queued["state"] == "queued");
  CHECK(queued["role"] == "test");
  auto q = o.call("GET", "/v1/queues", nullptr, 200);
  REQUIRE(q["queues"].size() == 1);
  CHECK(q["queues"][0]["pending"] == 1);
  CHECK(q["queues"][0]["workers"] == 0);

  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  REQUIRE(wait_until([&] { return f.state(o, "api-1") == "succeeded"; }, 30s));
  auto done = o.call("GET", "/v1/tasks/api-1", nullptr, 200);
  CHECK(done["output"] == R"({"n":1})");
  CHECK(done["attempts"] == 1);
  CHECK(done["worker"].get<std::string>().find(':') != std::string::npos);
  q = o.call("GET", "/v1/queues", nullptr, 200);
  CHECK(q["queues"][0]["workers"] == 1);
  CHECK(o.request("GET", "/v1/tasks/never-submitted")->status == 404);
  // Binary payloads go as base64 and come back as base64.
  auto bin = o.call("POST", "/v1/tasks",
                    {{"role", "test"}, {"type", "echo"}, {"payload_base64", "AP8="}}, 202);
  auto id = bin["id"].get<std::string>();
  REQUIRE(wait_until([&] { return f.state(o, id) == "succeeded"; }, 30s));
  CHECK(o.call("GET", "/v1/tasks/" + id)["output_base64"] == "AP8=");
}

TEST_CASE("a task that used up MaxDeliver is dead-lettered once with two orchestrators, and "
          "a requeue runs it to success") {
  fixture f;
  orchestrator_process a{f.s.server.url(), f.dir};
  orchestrator_process b{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(a.wait_ready(), a.log_text());
  REQUIRE_MESSAGE(b.wait_ready(), b.log_text());
  // Nobody acks: a consumer takes each delivery and naks it until the server gives up.
  f.publish("doomed", "fail", R"({"fail_times":3,"mode":"error"})");
  auto consumer = f.s.consumer();
  int deliveries = 0;
  REQUIRE(wait_until(
    [&] {
      auto batch = consumer->fetch(1, 500ms);
      if (batch)
        for (auto& m : *batch) {
          ++deliveries;
          (void)m.nak();
        }
      return stream_msgs(*f.s.conn, "SMITH_DLQ") == 1 && stream_msgs(*f.s.conn, "SMITH_TASKS") == 0;
    },
    60s));
  CHECK(deliveries == 3);
  // Both replicas saw the advisory stream drain: nothing is left for a second copy.
  auto mover = must(tp::consumer_info(*f.s.conn, "SMITH_ADVISORIES", "dead-letter-mover"));
  REQUIRE(wait_until(
    [&] {
      mover = must(tp::consumer_info(*f.s.conn, "SMITH_ADVISORIES", "dead-letter-mover"));
      return mover.num_pending == 0 && mover.num_ack_pending == 0;
    },
    20s));
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 1);
  CHECK(f.state(a, "doomed") == "dead");
  auto dlq = a.call("GET", "/v1/dlq", nullptr, 200);
  REQUIRE(dlq["dead_letters"].size() == 1);
  auto entry = dlq["dead_letters"][0];
  CHECK(entry["id"] == "doomed");
  CHECK(entry["attempts"] == 3);
  CHECK(entry["reason"].get<std::string>().find("MaxDeliver") != std::string::npos);
  auto moved_by = [](const orchestrator_process& o) {
    return o.log_text().find("moved to the dead-letter stream") != std::string::npos ? 1 : 0;
  };
  CHECK(moved_by(a) + moved_by(b) == 1);

  // Requeued, the fail handler counts the three attempts it already had and succeeds.
  consumer.reset();
  auto seq = entry["seq"].get<std::uint64_t>();
  auto requeued = b.call("POST", "/v1/dlq/" + std::to_string(seq) + "/requeue", nullptr, 202);
  CHECK(requeued["id"] == "doomed");
  CHECK(b.request("POST", "/v1/dlq/" + std::to_string(seq) + "/requeue")->status == 404);
  CHECK(f.state(a, "doomed") == "queued"); // the old "dead" result no longer speaks for it
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "1"}};
  REQUIRE(w.wait_ready());
  REQUIRE_MESSAGE(wait_until([&] { return f.state(a, "doomed") == "succeeded"; }, 30s),
                  w.log_text());
  CHECK(a.call("GET", "/v1/tasks/doomed")["attempts"] == 4);
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
  // The worker's log counts as the result does (its line follows the result's store).
  CHECK_MESSAGE(
    wait_until(
      [&] {
        auto log = w.log_text();
        return log.find(R"("msg":"task_duration","task_id":"doomed")") != std::string::npos
               && log.find(R"("outcome":"succeeded","attempt":4,)") != std::string::npos;
      },
      10s),
    w.log_text());
}

TEST_CASE("a worker's last failed attempt is dead-lettered once; DELETE removes it") {
  fixture f;
  orchestrator_process a{f.s.server.url(), f.dir};
  orchestrator_process b{f.s.server.url(), f.dir};
  REQUIRE(a.wait_ready());
  REQUIRE(b.wait_ready());
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  a.call("POST", "/v1/tasks",
         {{"role", "test"},
          {"type", "fail"},
          {"id", "hopeless"},
          {"payload", {{"fail_times", 100}, {"mode", "error"}}}},
         202);
  REQUIRE_MESSAGE(wait_until([&] { return f.state(b, "hopeless") == "dead"; }, 60s), w.log_text());
  REQUIRE(wait_until([&] { return stream_msgs(*f.s.conn, "SMITH_TASKS") == 0; }, 20s));
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 1);
  auto entry = a.call("GET", "/v1/dlq")["dead_letters"][0];
  auto seq = std::to_string(entry["seq"].get<std::uint64_t>());
  CHECK(a.call("DELETE", "/v1/dlq/" + seq, nullptr, 200)["deleted"] == entry["seq"]);
  CHECK(a.request("DELETE", "/v1/dlq/" + seq)->status == 404);
  CHECK(a.request("DELETE", "/v1/dlq/zero")->status == 400);
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
}

TEST_CASE("cancel: a queued task never runs, a running exec sleep is killed, both end cancelled") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE(o.wait_ready());
  o.call("POST", "/v1/tasks", {{"role", "test"}, {"type", "echo"}, {"id", "never"}}, 202);
  CHECK(o.call("POST", "/v1/tasks/never/cancel", nullptr, 202)["state"] == "cancelled");
  CHECK(f.state(o, "never") == "cancelled");
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);

  worker_process w{
    f.s.server.url(), f.dir, {"--concurrency", "2"}, {{"SMITH_EXEC_ALLOW", "sleep=/bin/sleep"}}};
  REQUIRE(w.wait_ready());
  const std::vector<std::string> sleeper{"sleep", "987"}; // argv[0] is the name given
  o.call(
    "POST", "/v1/tasks",
    {{"role", "test"}, {"type", "exec"}, {"id", "long"}, {"payload", {{"argv", {"sleep", "987"}}}}},
    202);
  REQUIRE_MESSAGE(wait_until([&] { return processes_running(sleeper) == 1; }, 20s), w.log_text());
  // Running as the orchestrator knows it: its worker announced the start (a task delivered but
  // not yet announced is cancelled at once, its worker told).
  REQUIRE(wait_until([&] { return o.call("GET", "/v1/tasks/long").contains("worker"); }, 20s));
  CHECK(f.state(o, "long") == "running");
  auto c = o.call("POST", "/v1/tasks/long/cancel", nullptr, 202);
  CHECK(c["state"] == "cancelling");
  REQUIRE_MESSAGE(wait_until([&] { return f.state(o, "long") == "cancelled"; }, 20s), w.log_text());
  CHECK_MESSAGE(wait_until([&] { return processes_running(sleeper) == 0; }, 10s), w.log_text());
  CHECK(o.request("POST", "/v1/tasks/long/cancel")->status == 409);
  CHECK(o.request("POST", "/v1/tasks/ghost/cancel")->status == 404);
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 0);
  // The cancelled queued task was never delivered: its only result is the cancellation.
  CHECK(f.results.results["never"].size() == 1);
}

TEST_CASE(
  "hostile events on the event subjects never stop the orchestrator; good ones still count") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  // Anyone who may publish tasks may publish here too: wrong types, out-of-range numbers,
  // bytes that are not JSON, JSON that is not an object.
  const std::vector<std::string> hostile{
    R"({"id":"x","kind":1})",
    R"({"id":5,"kind":"started"})",
    R"({"id":"h-1","kind":"started","attempt":"one","ts_ms":"now","role":5,"worker":"w:2"})",
    R"({"id":"h-1","kind":"started","attempt":-1,"ts_ms":1e400})",
    R"({"id":"h-1","kind":"progress","percent":"50","message":7})",
    R"({"id":"h-1","kind":"progress","percent":18446744073709551615})",
    R"({"id":"h-1","kind":"progress","percent":-3})",
    "[1,2,3]",
    "null",
    "\xff\xfe not json",
    "",
  };
  for (const auto& body : hostile)
    must(tp::publish_core(*f.s.conn, "smith.event.h-1", body));
  // The last word on h-1: a well-formed started event, behind all of the above.
  must(tp::publish_core(*f.s.conn, "smith.event.h-1",
                        R"({"id":"h-1","kind":"started","role":"test","type":"echo",)"
                        R"("worker":"w:1","attempt":2,"ts_ms":1700000000000})"));
  must(f.s.conn->flush(2s));
  REQUIRE(wait_until([&] { return f.state(o, "h-1") == "running"; }, 10s));
  auto live = o.call("GET", "/v1/tasks/h-1", nullptr, 200);
  CHECK(live["worker"] == "w:1");
  CHECK(live["attempts"] == 2);
  CHECK(live["started_ms"] == 1700000000000);
  CHECK(o.process.running());
  CHECK(o.wait_ready());
}

TEST_CASE("a second orchestrator or worker on a port in use fails to start instead of sharing it") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto port = std::to_string(o.http_port);
  std::map<std::string, std::string> env{{"SMITH_NATS_URL", f.s.server.url()},
                                         {"SMITH_ROLES", "test"},
                                         {"SMITH_API_TOKEN", "another-token"}};
  auto smith = smith_binary();
  auto second = run_command(
    {smith, "orchestrator", "--http-host", "127.0.0.1", "--http-port", port}, env, {}, 20s);
  CHECK_MESSAGE(second.exit_code == 1, second.out << second.err);
  CHECK_MESSAGE((second.out + second.err).find("cannot serve http") != std::string::npos,
                second.out << second.err);
  auto worker = run_command(
    {smith, "worker", "--role", "test", "--http-host", "127.0.0.1", "--http-port", port}, env, {},
    20s);
  CHECK_MESSAGE(worker.exit_code == 1, worker.out << worker.err);
  // The first one still answers every request, with its own token.
  for (int i = 0; i < 8; ++i)
    CHECK(o.request("GET", "/v1/queues")->status == 200);
}

TEST_CASE("submit bounds every field before it publishes: delay, meta, and the whole message") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir, {{"SMITH_MAX_MSG_BYTES", "2048"}}};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto base = json{{"role", "test"}, {"type", "echo"}};
  auto with = [&](const char* key, json value) {
    auto req = base;
    req[key] = std::move(value);
    return req;
  };
  json many = json::object();
  for (int i = 0; i < 65; ++i)
    many["k" + std::to_string(i)] = "v";
  auto refused = [&](const json& req, int status, const std::string& error) {
    auto res = o.request("POST", "/v1/tasks", req.dump());
    REQUIRE(res);
    CHECK_MESSAGE(res->status == status, res->body);
    CHECK_MESSAGE(json::parse(res->body)["error"] == error, res->body);
  };
  refused(with("delay_ms", INT64_MAX), 400, "invalid_field");
  refused(with("delay_ms", std::int64_t{300'000'000'000'000}), 400, "invalid_field");
  refused(with("meta", many), 400, "invalid_field");
  refused(with("meta", {{"k", std::string(1025, 'v')}}), 400, "invalid_field");
  refused(with("meta", {{std::string(1025, 'k'), "v"}}), 400, "invalid_field");
  // 2,048 bytes in all: a payload that fits alone does not fit with a large meta.
  refused(with("payload", std::string(1500, 'p')), 413, "payload_too_large");
  auto big_meta = with("meta", {{"a", std::string(1000, 'x')}, {"b", std::string(1000, 'y')}});
  big_meta["payload"] = "small";
  refused(big_meta, 413, "payload_too_large");
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);
  // What fits goes through.
  auto ok = with("payload", std::string(500, 'p'));
  ok["meta"] = {{"k", "v"}};
  CHECK(o.call("POST", "/v1/tasks", ok, 202)["duplicate"] == false);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 1);
}

TEST_CASE("the API token can come from SMITH_API_TOKEN_FILE, without its line break") {
  fixture f;
  auto file = f.dir.path() / "api-token";
  std::ofstream{file} << "from-a-file\n";
  orchestrator_process o{
    f.s.server.url(), f.dir, {{"SMITH_API_TOKEN", ""}, {"SMITH_API_TOKEN_FILE", file.string()}}};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  CHECK(o.request("GET", "/v1/queues", {}, "from-a-file")->status == 200);
  CHECK(o.request("GET", "/v1/queues")->status == 401); // the harness's usual token
}

TEST_CASE("a dead task with the most meta entries is not requeued: one more would not decode") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto t = task_of("full-meta", "echo", "x");
  for (int i = 0; i < 64; ++i)
    t.meta["k" + std::to_string(i)] = "v";
  tp::wire::dead_letter d{"full-meta",
                          "test",
                          "echo",
                          "MaxDeliver reached",
                          3,
                          "smith.task.test.echo.full-meta",
                          1,
                          1'700'000'000'000,
                          tp::wire::encode(t)};
  auto pub = must(tp::publisher::create(f.s.conn, {}));
  must(pub->publish({tp::wire::subjects{"smith"}.dlq("test", "echo"), tp::wire::encode(d), "", {}},
                    5s));
  auto refused = o.request("POST", "/v1/dlq/1/requeue");
  REQUIRE(refused);
  CHECK(refused->status == 409);
  CHECK(json::parse(refused->body)["error"] == "not_requeueable");
  CHECK(json::parse(refused->body)["detail"].get<std::string>().find("64 meta entries")
        != std::string::npos);
  // Refused, it changed nothing: the letter is there, no task was queued.
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 1);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);
}
