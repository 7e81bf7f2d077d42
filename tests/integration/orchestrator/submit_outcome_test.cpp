// What an answer to submit promises: an error published nothing, now or later; an unconfirmed
// publish says so (504) with the id to retry; a retry with an id or an Idempotency-Key never
// queues a task twice.
#include "orchestrator_harness.hpp"

#include <csignal>

using namespace orchestrator_testing;

namespace {

httplib::Result post_with_key(const orchestrator_process& o, const json& body,
                              const std::string& key) {
  httplib::Client cli{"127.0.0.1", o.http_port};
  cli.set_read_timeout(20s);
  httplib::Headers h{{"Authorization", std::string{"Bearer "} + token}, {"Idempotency-Key", key}};
  return cli.Post("/v1/tasks", h, body.dump(), "application/json");
}

bool ready(const orchestrator_process& o) {
  httplib::Client cli{"127.0.0.1", o.http_port};
  auto r = cli.Get("/ready");
  return r && r->status == 200;
}

} // namespace

TEST_CASE("a submit refused while NATS is down publishes nothing, then or after NATS is back") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  f.s.server.stop();
  REQUIRE(wait_until([&] { return !ready(o); }, 20s));
  auto refused = o.request("POST", "/v1/tasks",
                           json{{"role", "test"}, {"type", "echo"}, {"id", "while-down"}}.dump());
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(json::parse(refused->body)["error"] == "unavailable");
  f.s.server.start();
  REQUIRE_MESSAGE(wait_until([&] { return ready(o); }, 30s), o.log_text());
  // nats.c sends what it buffered before anything new: once a task submitted now is stored, a
  // buffered one would be stored too, ahead of it.
  auto after =
    o.call("POST", "/v1/tasks", {{"role", "test"}, {"type", "echo"}, {"id", "after"}}, 202);
  CHECK(after["duplicate"] == false);
  REQUIRE(wait_until([&] { return f.s.conn->connected(); }, 20s));
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 1);
  CHECK(o.request("GET", "/v1/tasks/while-down")->status == 404);
}

TEST_CASE("an unconfirmed submit answers 504 with its id, and the retry with it queues it once") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  // A server that takes the bytes (its socket does) and answers nothing until SIGCONT.
  REQUIRE(::kill(f.s.server.pid(), SIGSTOP) == 0);
  REQUIRE(wait_until([&] { return f.s.server.stopped(); }, 10s));
  auto res = o.request("POST", "/v1/tasks",
                       json{{"role", "test"}, {"type", "echo"}, {"payload", "once"}}.dump());
  REQUIRE(::kill(f.s.server.pid(), SIGCONT) == 0);
  REQUIRE(res);
  CHECK(res->status == 504);
  auto body = json::parse(res->body);
  CHECK(body["error"] == "outcome_unknown");
  REQUIRE(body.contains("id"));
  auto id = body["id"].get<std::string>();
  CHECK(body["detail"].get<std::string>().find(id) != std::string::npos);
  auto retry = o.call("POST", "/v1/tasks",
                      {{"role", "test"}, {"type", "echo"}, {"payload", "once"}, {"id", id}}, 202);
  CHECK(retry["id"] == id);
  CHECK(retry["duplicate"] == true); // the first one was stored once the server went on
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 1);
}

TEST_CASE("an Idempotency-Key names one task: the same key gives the same task and answer") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto body = json{{"role", "test"}, {"type", "echo"}, {"payload", "pay order 42"}};
  auto first = post_with_key(o, body, "order-42 payment");
  auto second = post_with_key(o, body, "order-42 payment");
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->status == 202);
  CHECK(second->status == 202);
  auto a = json::parse(first->body);
  auto b = json::parse(second->body);
  CHECK(a["id"].get<std::string>().starts_with("k-"));
  CHECK(a["id"] == b["id"]);
  CHECK(a["stream_seq"] == b["stream_seq"]);
  CHECK(a["duplicate"] == false);
  CHECK(b["duplicate"] == true);
  // Another key, another task; an id in the body names the task whatever the key.
  auto other = json::parse(post_with_key(o, body, "order-43 payment")->body);
  CHECK(other["id"] != a["id"]);
  auto named = body;
  named["id"] = "named-1";
  CHECK(json::parse(post_with_key(o, named, "order-42 payment")->body)["id"] == "named-1");
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 3);
  // A key past 255 bytes is refused, and nothing is published.
  auto too_long = post_with_key(o, body, std::string(256, 'k'));
  REQUIRE(too_long);
  CHECK(too_long->status == 400);
  CHECK(json::parse(too_long->body)["error"] == "invalid_field");
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 3);
}

TEST_CASE("a traceparent header goes with the task: status and the list show its trace id; a "
          "malformed one is refused and publishes nothing") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto post = [&](const std::string& id, const std::string& traceparent) {
    httplib::Client cli{"127.0.0.1", o.http_port};
    cli.set_read_timeout(20s);
    httplib::Headers h{{"Authorization", std::string{"Bearer "} + token},
                       {"traceparent", traceparent}};
    return cli.Post("/v1/tasks", h, json{{"role", "test"}, {"type", "echo"}, {"id", id}}.dump(),
                    "application/json");
  };
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  for (const auto* bad : {"00-xyz", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"}) {
    CAPTURE(bad);
    auto refused = post("untraced", bad);
    REQUIRE(refused);
    CHECK(refused->status == 400);
    CHECK(json::parse(refused->body)["error"] == "invalid_field");
  }
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);
  CHECK(o.request("GET", "/v1/tasks/untraced")->status == 404);

  auto ok = post("traced", "00-" + trace + "-00f067aa0ba902b7-01");
  REQUIRE(ok);
  CHECK(ok->status == 202);
  auto queued = o.call("GET", "/v1/tasks/traced", nullptr, 200);
  CHECK(queued["state"] == "queued");
  CHECK(queued["trace_id"] == trace);
  auto listed = o.call("GET", "/v1/tasks?role=test", nullptr, 200)["tasks"];
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["trace_id"] == trace);
  // The worker copies the traceparent onto the result: the finished task keeps its trace id.
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  REQUIRE(wait_until([&] { return f.state(o, "traced") == "succeeded"; }, 20s));
  CHECK(o.call("GET", "/v1/tasks/traced", nullptr, 200)["trace_id"] == trace);
  CHECK(o.call("GET", "/v1/tasks?role=test", nullptr, 200)["tasks"][0]["trace_id"] == trace);
}
