// GET /v1/dlq/{seq} (`smith dlq show`), POST /v1/queues/{role}/purge (`smith queues purge`), and
// roles learned from the workers' consumers.
#include "orchestrator_harness.hpp"
#include "transport/publisher.hpp"
#include "transport/wire/envelope.hpp"

using namespace orchestrator_testing;

namespace {

// Stores a dead letter as the orchestrator would, with `original` as its task's body.
std::uint64_t store_dead_letter(fixture& f, const std::string& id, std::string original,
                                std::string body = {}) {
  tp::wire::dead_letter d;
  d.id = id;
  d.role = "test";
  d.type = "fail";
  d.reason = "failed 3 times";
  d.attempts = 3;
  d.subject = "smith.task.test.fail." + id;
  d.stream_seq = 7;
  d.failed_ms = 1'790'000'000'000;
  d.original = std::move(original);
  tp::outgoing out;
  out.subject = f.s.names.dlq("test", "fail");
  out.body = body.empty() ? tp::wire::encode(d) : std::move(body);
  return must(tp::publish(*f.s.conn, out, 5s)).sequence;
}

// A `smith worker` for `role`, with SMITH_ROLES=test: the role is nowhere configured.
struct role_worker {
  role_worker(const std::string& nats_url, const temp_dir& dir, const std::string& role)
    : http_port(free_port()), log(dir.path() / ("worker-" + role + ".log")) {
    ::setenv("SMITH_NATS_URL", nats_url.c_str(), 1);
    ::setenv("SMITH_ROLES", "test", 1);
    process = child_process::spawn({smith_binary(), "worker", "--role", role, "--http-host",
                                    "127.0.0.1", "--http-port", std::to_string(http_port)},
                                   log);
  }

  bool wait_ready() {
    return ready_within(http_port, 20s);
  }

  int http_port;
  std::filesystem::path log;
  child_process process;
};

} // namespace

TEST_CASE("GET /v1/dlq/{seq} shows a dead letter with its original task; smith dlq show") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto text_task = task_of("d-text", "fail", R"({"n":1})");
  text_task.created_ms = 1'789'999'999'000;
  text_task.deadline_ms = 1'800'000'000'000;
  text_task.meta = {{"owner", "ops"}};
  auto text_seq = store_dead_letter(f, "d-text", tp::wire::encode(text_task));
  auto bin_seq = store_dead_letter(f, "d-bin", tp::wire::encode(task_of("d-bin", "fail", "\xff")));
  auto broken_seq = store_dead_letter(f, "d-broken", "not msgpack");
  auto junk_seq = store_dead_letter(f, "", "", "\xc1 junk");

  auto shown = o.call("GET", "/v1/dlq/" + std::to_string(text_seq), nullptr, 200);
  auto listed = o.call("GET", "/v1/dlq")["dead_letters"][0];
  auto task = shown["task"];
  shown.erase("task");
  CHECK(shown == listed); // the list's fields, plus the task
  CHECK(task
        == json{{"id", "d-text"},
                {"type", "fail"},
                {"created_ms", 1'789'999'999'000},
                {"deadline_ms", 1'800'000'000'000},
                {"meta", {{"owner", "ops"}}},
                {"payload", R"({"n":1})"}});
  auto bin = o.call("GET", "/v1/dlq/" + std::to_string(bin_seq), nullptr, 200);
  CHECK(bin["task"]["payload_base64"] == "/w==");
  CHECK_FALSE(bin["task"].contains("payload"));
  CHECK_FALSE(bin["task"].contains("deadline_ms"));
  auto broken = o.call("GET", "/v1/dlq/" + std::to_string(broken_seq), nullptr, 200);
  CHECK_FALSE(broken.contains("task"));
  CHECK(broken["task_error"].get<std::string>().starts_with("the original task does not decode"));
  auto junk = o.call("GET", "/v1/dlq/" + std::to_string(junk_seq), nullptr, 200);
  CHECK(junk["reason"].get<std::string>().starts_with("unreadable dead letter"));

  for (const auto& [path, status] :
       std::vector<std::pair<std::string, int>>{{"/v1/dlq/999", 404},
                                                {"/v1/dlq/0", 400},
                                                {"/v1/dlq/abc", 400},
                                                {"/v1/dlq/-1", 400},
                                                {"/v1/dlq/9223372036854775808", 400}}) {
    CAPTURE(path);
    auto res = o.request("GET", path);
    REQUIRE(res);
    CHECK(res->status == status);
    CHECK(json::parse(res->body)["error"] == (status == 404 ? "not_found" : "invalid_field"));
  }
  CHECK(o.request("POST", "/v1/dlq/1")->status == 405);
  CHECK(stream_msgs(*f.s.conn, "SMITH_DLQ") == 4); // showing changed nothing

  auto env = cli_env(f);
  auto smith = smith_binary();
  for (bool via_api : {false, true}) {
    CAPTURE(via_api);
    auto cmd = smith_cli(env, via_api, o.url());
    auto as_json = cmd({"dlq", "show", std::to_string(text_seq), "--json"});
    REQUIRE_MESSAGE(as_json.exit_code == 0, as_json.err);
    CHECK(json::parse(as_json.out)
          == o.call("GET", "/v1/dlq/" + std::to_string(text_seq), nullptr, 200));
    auto text = cmd({"dlq", "show", std::to_string(text_seq)});
    REQUIRE_MESSAGE(text.exit_code == 0, text.err);
    CHECK(text.out.starts_with("seq              " + std::to_string(text_seq) + "\n"
                               + "id               d-text\n"));
    CHECK(text.out.find("\ntask.payload     {\"n\":1}\n") != std::string::npos);
    CHECK(text.out.find("\ntask.meta.owner  ops\n") != std::string::npos);
    auto missing = cmd({"dlq", "show", "999"});
    CHECK(missing.exit_code == 2);
    CHECK(missing.err.find("no dead letter at sequence 999") != std::string::npos);
    CHECK(cmd({"dlq", "show", "abc"}).exit_code == 2);
  }
  auto help = run_command({smith, "dlq", "show", "--help"}, env);
  CHECK(help.out.find("Example:\n  smith dlq show 3") != std::string::npos);
}

TEST_CASE("purging a role's queue removes its queued tasks only, and is audited") {
  fixture f{test_and_idle()};
  orchestrator_process o{f.s.server.url(), f.dir, {{"SMITH_ROLES", "test,idle"}}};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto submit = [&](const std::string& role, const std::string& id, const json& payload) {
    o.call("POST", "/v1/tasks",
           {{"role", role}, {"type", "sleep"}, {"id", id}, {"payload", payload}}, 202);
  };
  for (const char* id : {"i-1", "i-2", "i-3"})
    submit("idle", id, 1);
  submit("test", "t-1", 1);
  submit("test", "t-2", 1);

  for (const auto& [path, status, error] : std::vector<std::tuple<std::string, int, std::string>>{
         {"/v1/queues/nope/purge", 400, "unknown_role"},
         {"/v1/queues/a.b/purge", 400, "invalid_field"},
         {"/v1/queues/a%22b/purge", 400, "invalid_field"},
       }) {
    CAPTURE(path);
    auto res = o.request("POST", path);
    REQUIRE(res);
    CHECK(res->status == status);
    CHECK(json::parse(res->body)["error"] == error);
  }
  CHECK(o.request("GET", "/v1/queues/idle/purge")->status == 405);
  CHECK(o.request("POST", "/v1/queues/idle/purge", {}, "wrong")->status == 401);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 5); // refused: nothing removed

  CHECK(o.call("POST", "/v1/queues/idle/purge", nullptr, 200)
        == json{{"role", "idle"}, {"purged", 3}});
  CHECK(f.state(o, "i-1") == "http 404"); // never runs, no result
  CHECK(f.state(o, "t-1") == "queued");
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 2);
  CHECK(
    o.log_text().find(R"("action":"queue_purge","who":"token:a81e611a","role":"idle","purged":3)")
    != std::string::npos);

  auto env = cli_env(f);
  env["SMITH_ROLES"] = "test,idle";
  auto smith = smith_binary();
  auto direct = run_command({smith, "queues", "purge", "test"}, env);
  CHECK_MESSAGE(direct.exit_code == 0, direct.err);
  CHECK(direct.out == "purged 2 queued tasks of test\n");
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);
  auto unknown = run_command({smith, "queues", "purge", "nope"}, env);
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("role \"nope\" is not served here") != std::string::npos);

  // With a task in flight: it stays and ends; only those still queued go.
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "1"}};
  REQUIRE(w.wait_ready());
  submit("test", "p-run", 3000);
  REQUIRE(wait_until([&] { return f.state(o, "p-run") == "running"; }, 20s));
  submit("test", "p-q1", 1);
  submit("test", "p-q2", 1);
  REQUIRE(
    wait_until([&] { return o.call("GET", "/v1/queues")["queues"][0]["pending"] == 2; }, 20s));
  auto api = run_command(
    {smith, "queues", "purge", "test", "--json", "--api", o.url(), "--token", token}, env);
  CHECK_MESSAGE(api.exit_code == 0, api.err);
  CHECK(json::parse(api.out) == json{{"role", "test"}, {"purged", 2}});
  CHECK(wait_until([&] { return f.state(o, "p-run") == "succeeded"; }, 20s));
  CHECK(f.state(o, "p-q1") == "http 404");
  auto help = run_command({smith, "queues", "purge", "--help"}, env);
  CHECK(help.out.find("Example:\n  smith queues purge execute") != std::string::npos);
}

TEST_CASE("a worker for a role outside SMITH_ROLES makes it known to the API and the CLI") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto env = cli_env(f);
  auto smith = smith_binary();
  json gpu_task{{"role", "gpu"}, {"type", "echo"}, {"id", "g-1"}, {"payload", "on gpu"}};
  auto refused = o.request("POST", "/v1/tasks", gpu_task.dump());
  REQUIRE(refused);
  CHECK(refused->status == 400);
  auto doc = json::parse(refused->body);
  CHECK(doc["error"] == "unknown_role");
  CHECK(doc["detail"].get<std::string>().find("known roles: test. Hint: a role becomes known")
        != std::string::npos);
  CHECK(doc["detail"].get<std::string>().find("smith worker --role gpu") != std::string::npos);
  CHECK(run_command({smith, "submit", "--role", "gpu", "--type", "echo"}, env).exit_code == 2);
  CHECK(stream_msgs(*f.s.conn, "SMITH_TASKS") == 0);

  role_worker w{f.s.server.url(), f.dir, "gpu"};
  REQUIRE(w.wait_ready());
  json roles = json::array();
  auto queues_doc = o.call("GET", "/v1/queues");
  for (const auto& q : queues_doc["queues"])
    roles.push_back(q["role"]);
  CHECK(roles == json{"test", "gpu"});
  o.call("POST", "/v1/tasks", gpu_task, 202);
  CHECK(wait_until([&] { return f.state(o, "g-1") == "succeeded"; }, 20s));
  auto direct = run_command(
    {smith, "submit", "--role", "gpu", "--type", "echo", "--payload", "\"direct\"", "--wait"}, env);
  CHECK_MESSAGE(direct.exit_code == 0, direct.err);
  CHECK(direct.out.starts_with("direct"));
  auto listed = run_command({smith, "tasks", "--role", "gpu", "--json"}, env);
  CHECK_MESSAGE(listed.exit_code == 0, listed.err);
  CHECK(json::parse(listed.out)["tasks"].size() == 2);
  auto queues = run_command({smith, "queues"}, env);
  CHECK(queues.out.find("\ngpu ") != std::string::npos);
}
