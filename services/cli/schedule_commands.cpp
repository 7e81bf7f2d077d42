// `smith schedule create|list|show|delete`: recurring schedules the server fires (docs/API.md).
#include "services/cli/client.hpp"

#include <cstdio>

namespace smith::services::cli {

namespace {

struct schedule_options {
  std::string name, role, type, every, cron, time_zone, payload;
};

void print_schedule(const json& s) {
  std::printf("%-12s %s\n", "name", escape_text(s.value("name", "")).c_str());
  std::printf("%-12s %s\n", "role", escape_text(s.value("role", "")).c_str());
  std::printf("%-12s %s\n", "type", escape_text(s.value("type", "")).c_str());
  std::printf("%-12s %s\n", "schedule", escape_text(s.value("schedule", "")).c_str());
  if (s.contains("time_zone"))
    std::printf("%-12s %s\n", "time_zone", escape_text(s.value("time_zone", "")).c_str());
  if (s.contains("next_due"))
    std::printf("%-12s %s\n", "next_due", escape_text(s.value("next_due", "")).c_str());
  if (!s.contains("last_tasks"))
    return;
  std::printf("%-12s %zu\n", "last_tasks", s["last_tasks"].size());
  for (const auto& t : s["last_tasks"])
    std::printf("  %-40s %s\n", escape_text(t.value("id", "")).c_str(),
                escape_text(t.value("state", "")).c_str());
}

} // namespace

void add_schedule(CLI::App& app) {
  auto* sched = app.add_subcommand("schedule", "Recurring schedules the server fires");
  sched->require_subcommand(1);

  auto co = std::make_shared<client_options>();
  auto so = std::make_shared<schedule_options>();
  auto* create = sched->add_subcommand("create", "Create (or replace) a recurring schedule");
  create->add_option("name", so->name, "Schedule name (one subject token)")->required();
  create->add_option("--role", so->role, "Role of the tasks it fires")->required();
  create->add_option("--type", so->type, "Type of the tasks it fires")->required();
  create->add_option("--every", so->every, "Fire every this long, e.g. 30s, 5m, 1h30m");
  create->add_option("--cron", so->cron, "Six cron fields, seconds first: \"0 30 2 * * *\"");
  create->add_option("--time-zone", so->time_zone, "IANA time zone of --cron (default UTC)");
  create->add_option("--payload", so->payload, "The tasks' payload, JSON");
  add_client_options(create, co);
  create->footer(
    example("  smith schedule create heartbeat --role execute --type echo --every 30s\n"
            "  smith schedule create nightly --role execute --type echo --cron \"0 30 2 * "
            "* *\" --time-zone Europe/Amsterdam"));
  create->callback([co, so] {
    run([&] {
      json req{{"name", so->name}, {"role", so->role}, {"type", so->type}};
      if (!so->every.empty())
        req["every"] = so->every;
      if (!so->cron.empty())
        req["cron"] = so->cron;
      if (!so->time_zone.empty())
        req["time_zone"] = so->time_zone;
      if (!so->payload.empty()) {
        auto p = json::parse(so->payload, nullptr, false);
        if (p.is_discarded())
          die(exit_bad_request, "--payload is not JSON (quote a string: --payload '\"text\"')");
        req["payload"] = p;
      }
      client c{*co};
      auto r = c.call("POST", "/v1/schedules", req);
      std::printf("%s\n",
                  co->json_out
                    ? r.dump().c_str()
                    : escape_text(r.value("name", "") + " " + r.value("schedule", "")).c_str());
      return exit_ok;
    });
  });

  auto lo = std::make_shared<client_options>();
  auto* list = sched->add_subcommand("list", "List the recurring schedules");
  add_client_options(list, lo);
  list->footer(example("  smith schedule list --json"));
  list->callback([lo] {
    run([&] {
      client c{*lo};
      auto r = c.call("GET", "/v1/schedules");
      if (lo->json_out) {
        std::printf("%s\n", r.dump().c_str());
        return exit_ok;
      }
      std::printf("%-24s %-12s %-12s %s\n", "NAME", "ROLE", "TYPE", "SCHEDULE");
      for (const auto& s : r["schedules"])
        std::printf(
          "%-24s %-12s %-12s %s%s\n", escape_text(s.value("name", "")).c_str(),
          escape_text(s.value("role", "")).c_str(), escape_text(s.value("type", "")).c_str(),
          escape_text(s.value("schedule", "")).c_str(),
          s.contains("time_zone") ? escape_text(" (" + s.value("time_zone", "") + ")").c_str()
                                  : "");
      return exit_ok;
    });
  });

  auto wo = std::make_shared<client_options>();
  auto shown = std::make_shared<std::string>();
  auto* show = sched->add_subcommand("show", "A schedule, its next due time, its last tasks");
  show->add_option("name", *shown, "Schedule name")->required();
  add_client_options(show, wo);
  show->footer(example("  smith schedule show heartbeat"));
  show->callback([wo, shown] {
    run([&] {
      client c{*wo};
      auto r = c.call("GET", "/v1/schedules/" + *shown);
      if (wo->json_out)
        std::printf("%s\n", r.dump().c_str());
      else
        print_schedule(r);
      return exit_ok;
    });
  });

  auto xo = std::make_shared<client_options>();
  auto gone = std::make_shared<std::string>();
  auto* del = sched->add_subcommand("delete", "Delete a schedule: it fires no more");
  del->add_option("name", *gone, "Schedule name")->required();
  add_client_options(del, xo);
  del->footer(example("  smith schedule delete heartbeat"));
  del->callback([xo, gone] {
    run([&] {
      client c{*xo};
      auto r = c.call("DELETE", "/v1/schedules/" + *gone);
      std::printf("%s\n",
                  xo->json_out ? r.dump().c_str() : escape_text(*gone + " deleted").c_str());
      return exit_ok;
    });
  });
}

} // namespace smith::services::cli
