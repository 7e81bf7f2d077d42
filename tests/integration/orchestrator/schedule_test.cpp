// Recurring schedules (docs/WIRE.md §2.3): fired by the server, one task per firing with an id
// of its own, across a server restart, and no more once deleted.
#include "orchestrator_harness.hpp"

#include "transport/clock.hpp"

#include <set>

using namespace orchestrator_testing;

namespace {

// Firings of schedule `name` that stored a result: id → results stored for it.
std::map<std::string, std::size_t> firings(result_collector& results, const std::string& name) {
  std::lock_guard guard{results.mtx};
  std::map<std::string, std::size_t> out;
  for (const auto& [id, list] : results.results)
    if (id.starts_with(name + "-"))
      out[id] = list.size();
  return out;
}

// "tick-20261129T075606Z" → unix seconds.
std::int64_t fired_s(const std::string& id) {
  std::tm tmv{};
  auto stamp = id.substr(id.rfind('-') + 1);
  REQUIRE(strptime(stamp.c_str(), "%Y%m%dT%H%M%SZ", &tmv) != nullptr);
  return static_cast<std::int64_t>(timegm(&tmv));
}

} // namespace

TEST_CASE("an @every 1s schedule makes one task a second, across a server restart, and stops "
          "when deleted") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  worker_process w{f.s.server.url(), f.dir, {"--concurrency", "2"}};
  REQUIRE(w.wait_ready());

  auto created = o.call(
    "POST", "/v1/schedules",
    {{"name", "tick"}, {"role", "test"}, {"type", "echo"}, {"every", "1s"}, {"payload", "tock"}},
    201);
  CHECK(created["schedule"] == "@every 1s");
  CHECK(created["replaced"] == false);
  auto list = o.call("GET", "/v1/schedules", nullptr, 200);
  REQUIRE(list["schedules"].size() == 1);
  CHECK(list["schedules"][0]["name"] == "tick");
  CHECK(list["schedules"][0]["role"] == "test");

  REQUIRE_MESSAGE(wait_until([&] { return firings(f.results, "tick").size() >= 3; }, 20s),
                  w.log_text());
  auto before = firings(f.results, "tick").size();
  REQUIRE(f.s.server.stop());
  f.s.server.start();
  REQUIRE_MESSAGE(wait_until([&] { return firings(f.results, "tick").size() >= before + 3; }, 30s),
                  w.log_text());

  auto shown = o.call("GET", "/v1/schedules/tick", nullptr, 200);
  REQUIRE_FALSE(shown["last_tasks"].empty());
  CHECK(shown["last_tasks"].back()["id"].get<std::string>().starts_with("tick-"));
  CHECK(shown.contains("next_due"));
  auto last = shown["last_tasks"][0]["id"].get<std::string>();
  CHECK(f.state(o, last) == "succeeded");
  CHECK(o.call("GET", "/v1/tasks/" + last, nullptr, 200)["output"] == "tock");

  CHECK(o.call("DELETE", "/v1/schedules/tick", nullptr, 200)["deleted"] == true);
  auto deleted_s = tp::unix_ms() / 1000;
  CHECK(o.request("GET", "/v1/schedules/tick")->status == 404);
  CHECK(o.request("DELETE", "/v1/schedules/tick")->status == 404);
  // Time passes for a task due 2.5 s later; by its result a deleted schedule would have fired.
  o.call("POST", "/v1/tasks",
         {{"role", "test"}, {"type", "echo"}, {"id", "later"}, {"delay_ms", 2'500}}, 202);
  REQUIRE(wait_until([&] { return f.state(o, "later") == "succeeded"; }, 20s));

  auto all = firings(f.results, "tick");
  std::set<std::int64_t> seconds;
  for (const auto& [id, stored] : all) {
    CHECK_MESSAGE(stored == 1, id << " has " << stored << " results");
    auto s = fired_s(id);
    seconds.insert(s);
    // One in flight at the delete may still end; nothing fired after it.
    CHECK_MESSAGE(s <= deleted_s, id << " fired after the schedule was deleted");
  }
  CHECK(seconds.size() == all.size()); // one task per second at most
  CHECK(*seconds.rbegin() - *seconds.begin() + 1 >= static_cast<std::int64_t>(all.size()));
}

TEST_CASE("schedule requests are checked field by field and change nothing when refused; the "
          "CLI creates, lists, shows and deletes") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  auto refused = [&](const json& body) {
    auto res = o.request("POST", "/v1/schedules", body.dump());
    REQUIRE(res);
    CHECK_MESSAGE(res->status == 400, body.dump() << " → " << res->status << " " << res->body);
  };
  json base{{"name", "n"}, {"role", "test"}, {"type", "echo"}};
  auto with = [&](const json& more) {
    auto out = base;
    out.merge_patch(more);
    return out;
  };
  refused(base); // neither every nor cron
  refused(with({{"every", "1s"}, {"cron", "* * * * * *"}}));
  refused(with({{"every", "500ms"}})); // under a second
  refused(with({{"every", "soon"}}));
  refused(with({{"cron", "* * * * *"}})); // five fields
  refused(with({{"cron", "0 0 2 * * * ;rm"}}));
  refused(with({{"every", "1m"}, {"time_zone", "Europe/Amsterdam"}}));
  refused(with({{"cron", "0 0 2 * * *"}, {"time_zone", "../etc"}}));
  refused(with({{"name", "a.b"}, {"every", "1m"}}));
  CHECK(o.call("GET", "/v1/schedules", nullptr, 200)["schedules"].empty());

  auto env = cli_env(f);
  auto smith = smith_binary();
  auto made = run_command({smith, "schedule", "create", "nightly", "--role", "test", "--type",
                           "echo", "--cron", "0 30 2 * * *", "--time-zone", "Europe/Amsterdam"},
                          env);
  CHECK_MESSAGE(made.exit_code == 0, made.err);
  CHECK(made.out == "nightly 0 30 2 * * *\n");
  auto other = run_command(
    {smith, "schedule", "create", "nightly", "--role", "test", "--type", "hash", "--every", "1h"},
    env);
  CHECK(other.exit_code == 2);
  CHECK(other.err.find("exists for role test and type echo") != std::string::npos);
  auto listed = run_command({smith, "schedule", "list"}, env);
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.find("nightly") != std::string::npos);
  CHECK(listed.out.find("(Europe/Amsterdam)") != std::string::npos);
  auto shown = run_command(
    {smith, "schedule", "show", "nightly", "--json", "--api", o.url(), "--token", token}, env);
  CHECK_MESSAGE(shown.exit_code == 0, shown.err);
  auto doc = json::parse(shown.out);
  CHECK(doc["schedule"] == "0 30 2 * * *");
  CHECK(doc["time_zone"] == "Europe/Amsterdam");
  CHECK(doc["last_tasks"].empty());
  auto gone = run_command({smith, "schedule", "delete", "nightly"}, env);
  CHECK(gone.exit_code == 0);
  CHECK(gone.out == "nightly deleted\n");
  CHECK(run_command({smith, "schedule", "show", "nightly"}, env).exit_code == 2);
}
