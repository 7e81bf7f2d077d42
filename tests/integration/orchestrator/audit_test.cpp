// Audit lines: every change a person makes through the API or the CLI (cancel, dead-letter
// requeue, delete, purge) is logged with who made it, and never with the token itself.
#include "orchestrator_harness.hpp"

using namespace orchestrator_testing;

namespace {

// `printf %s s3cret-token | sha256sum | cut -c1-8`
constexpr const char* token_who = "token:a81e611a";

// The audit lines of a log (one JSON object per line), in order.
std::vector<json> audit_lines(const std::string& log) {
  std::vector<json> out;
  std::istringstream in{log};
  for (std::string line; std::getline(in, line);) {
    auto doc = json::parse(line, nullptr, false);
    if (doc.is_object() && doc.value("msg", "") == "audit")
      out.push_back(std::move(doc));
  }
  return out;
}

// Submits a task that fails every attempt and waits for its dead letter; returns its sequence.
std::uint64_t dead_letter(fixture& f, const orchestrator_process& o, const std::string& id) {
  o.call("POST", "/v1/tasks",
         {{"role", "test"},
          {"type", "fail"},
          {"id", id},
          {"payload", {{"fail_times", 100}, {"mode", "error"}}}},
         202);
  REQUIRE(wait_until([&] { return f.state(o, id) == "dead"; }, 60s));
  auto dlq = o.call("GET", "/v1/dlq");
  for (const auto& e : dlq["dead_letters"])
    if (e["id"] == id)
      return e["seq"].get<std::uint64_t>();
  FAIL("no dead letter for " << id);
  return 0;
}

} // namespace

TEST_CASE("cancel, requeue and delete through the API are audited with the token's fingerprint") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  f.publish("audit-queued", "echo", "x");
  CHECK(o.call("POST", "/v1/tasks/audit-queued/cancel", nullptr, 202)["state"] == "cancelled");
  CHECK(o.request("POST", "/v1/tasks/audit-queued/cancel")->status == 409); // no change, no line
  CHECK(o.request("POST", "/v1/tasks/audit-queued/cancel", "", "wrong")->status == 401);

  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  auto requeue_seq = dead_letter(f, o, "audit-dead-1");
  auto delete_seq = dead_letter(f, o, "audit-dead-2");
  auto requeued =
    o.call("POST", "/v1/dlq/" + std::to_string(requeue_seq) + "/requeue", nullptr, 202);
  o.call("DELETE", "/v1/dlq/" + std::to_string(delete_seq), nullptr, 200);

  auto lines = audit_lines(o.log_text());
  REQUIRE_MESSAGE(lines.size() == 3, o.log_text());
  for (const auto& l : lines) {
    CHECK(l["level"] == "INFO");
    CHECK(l["logger"] == "orchestrator");
    CHECK(l["who"] == token_who);
  }
  CHECK(lines[0]["action"] == "cancel");
  CHECK(lines[0]["task_id"] == "audit-queued");
  CHECK(lines[1]["action"] == "dlq_requeue");
  CHECK(lines[1]["dlq_seq"] == requeue_seq);
  CHECK(lines[1]["task_id"] == "audit-dead-1");
  CHECK(lines[1]["stream_seq"] == requeued["stream_seq"]);
  CHECK(lines[2]["action"] == "dlq_delete");
  CHECK(lines[2]["dlq_seq"] == delete_seq);
  CHECK(o.log_text().find(token) == std::string::npos);
}

TEST_CASE("an API without a token audits \"anonymous\"; the CLI without --api audits \"local\" on "
          "stderr") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir, {{"SMITH_API_TOKEN", ""}}};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  f.publish("audit-anon", "echo", "x");
  auto res = o.request("POST", "/v1/tasks/audit-anon/cancel", "", nullptr);
  REQUIRE(res);
  CHECK(res->status == 202);
  auto lines = audit_lines(o.log_text());
  REQUIRE_MESSAGE(lines.size() == 1, o.log_text());
  CHECK(lines[0]["who"] == "anonymous");
  CHECK(lines[0]["task_id"] == "audit-anon");

  f.publish("audit-local", "echo", "x");
  auto cancel = run_command({smith_binary(), "cancel", "audit-local"}, cli_env(f));
  CHECK_MESSAGE(cancel.exit_code == 0, cancel.err);
  CHECK(cancel.out == "audit-local cancelled\n"); // stdout stays the command's answer
  auto local = audit_lines(cancel.err);
  REQUIRE_MESSAGE(local.size() == 1, cancel.err);
  CHECK(local[0]["logger"] == "cli");
  CHECK(local[0]["action"] == "cancel");
  CHECK(local[0]["who"] == "local");
  CHECK(local[0]["task_id"] == "audit-local");

  // A purge is a delete per dead letter, each audited.
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());
  auto seq = dead_letter(f, o, "audit-purged");
  auto purge = run_command({smith_binary(), "dlq", "purge", "--all"}, cli_env(f));
  CHECK_MESSAGE(purge.exit_code == 0, purge.err);
  CHECK(purge.out == "deleted 1\n");
  auto purged = audit_lines(purge.err);
  REQUIRE_MESSAGE(purged.size() == 1, purge.err);
  CHECK(purged[0]["action"] == "dlq_delete");
  CHECK(purged[0]["who"] == "local");
  CHECK(purged[0]["dlq_seq"] == seq);
}
