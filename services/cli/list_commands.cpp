// `smith tasks`, `smith workers`, `smith dlq show SEQ` and `smith queues purge ROLE`: the
// lists and the queue purge of docs/API.md, as tables or with --json as the API's JSON.
#include "services/cli/list_commands.hpp"

#include "services/cli/client.hpp"
#include "services/cli/display.hpp"
#include "transport/clock.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace smith::services::cli {

namespace {

struct tasks_options {
  std::string role;
  std::string state;
  int limit = 50;
};

// The time a listed task last changed, as the list sorts it.
std::string changed(const json& t, std::int64_t now) {
  for (const char* key : {"finished_ms", "started_ms", "due_ms", "queued_ms"})
    if (t.contains(key) && t[key].is_number_integer())
      return when(t[key].get<std::int64_t>(), now);
  return t.value("due", "");
}

// A value for a path segment or a query parameter: percent-encoded for --api (the server
// decodes it); in direct mode the routes read it as it is, where '?', '&' and '#' cannot stand.
std::string escaped(const client& c, const std::string& value, const char* what) {
  if (c.direct_mode()) {
    if (value.find_first_of("?&#") != std::string::npos)
      die(exit_bad_request, std::string{what} + " \"" + value
                              + "\" contains '?', '&' or '#': only --api can send it");
    return value;
  }
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : value) {
    if (std::isalnum(ch) != 0 || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

void print_json(const json& doc) {
  std::printf("%s\n", doc.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
}

void add_tasks(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto to = std::make_shared<tasks_options>();
  auto* cmd = app.add_subcommand("tasks", "List recent tasks, newest first");
  cmd->add_option("--role", to->role, "Only this role's tasks");
  cmd->add_option("--state", to->state,
                  "Only tasks in this state: scheduled, queued, running, succeeded, failed, "
                  "dead, cancelled");
  cmd->add_option("--limit", to->limit, "At most this many (1 to 1000)")->capture_default_str();
  add_client_options(cmd, co);
  cmd->footer(example("  smith tasks --role execute --state failed --limit 20"));
  cmd->callback([co, to] {
    run([&] {
      // The API checks each value (range, role, state): the command passes them on.
      client c{*co};
      std::string path = "/v1/tasks?limit=" + std::to_string(to->limit);
      if (!to->role.empty())
        path += "&role=" + escaped(c, to->role, "--role");
      if (!to->state.empty())
        path += "&state=" + escaped(c, to->state, "--state");
      auto r = c.call("GET", path);
      if (co->json_out) {
        print_json(r);
        return exit_ok;
      }
      auto now = transport::unix_ms();
      std::vector<std::vector<std::string>> rows;
      for (const auto& t : r.at("tasks"))
        rows.push_back({t.value("id", ""), t.value("state", ""), t.value("role", ""),
                        t.value("type", ""), changed(t, now)});
      print_table({"ID", "STATE", "ROLE", "TYPE", "WHEN"}, rows);
      return exit_ok;
    });
  });
}

void add_workers(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto* cmd = app.add_subcommand("workers", "List the live workers: role, concurrency, in flight");
  add_client_options(cmd, co);
  cmd->footer(example("  smith workers --json"));
  cmd->callback([co] {
    run([&] {
      client c{*co};
      auto r = c.call("GET", "/v1/workers");
      if (co->json_out) {
        print_json(r);
        return exit_ok;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& w : r.at("workers"))
        rows.push_back({w.value("worker", ""), w.value("role", ""),
                        std::to_string(w.value("concurrency", std::int64_t{0})),
                        std::to_string(w.value("in_flight", std::int64_t{0}))});
      print_table({"WORKER", "ROLE", "CONCURRENCY", "IN_FLIGHT"}, rows, {2, 3});
      return exit_ok;
    });
  });
}

// The fields of `doc` as "key  value" lines: those of `order` first, in that order, then the
// rest; times readable, values escaped, `meta` one line per entry.
void print_fields(const json& doc, const std::string& prefix,
                  const std::vector<std::string>& order) {
  auto now = transport::unix_ms();
  auto line = [&](const std::string& key, const json& v) {
    std::string text;
    if (key.ends_with("_ms") && v.is_number_integer())
      text = when(v.get<std::int64_t>(), now);
    else
      text = v.is_string() ? v.get<std::string>()
                           : v.dump(-1, ' ', false, json::error_handler_t::replace);
    std::printf("%-16s %s\n", escape_text(prefix + key).c_str(), escape_text(text).c_str());
  };
  auto keys = order;
  for (const auto& [k, v] : doc.items())
    if (std::find(order.begin(), order.end(), k) == order.end())
      keys.push_back(k);
  for (const auto& k : keys) {
    auto it = doc.find(k);
    if (it == doc.end() || (k == "task" && it->is_object()))
      continue;
    if (k == "meta" && it->is_object())
      for (const auto& [mk, mv] : it->items())
        line("meta." + mk, mv);
    else
      line(k, *it);
  }
}

void print_dead_letter(const json& d) {
  print_fields(d, "",
               {"seq", "id", "role", "type", "reason", "attempts", "failed_ms", "subject",
                "stream_seq", "task_error"});
  if (d.contains("task") && d["task"].is_object())
    print_fields(d["task"], "task.",
                 {"id", "type", "created_ms", "deadline_ms", "payload", "payload_base64", "meta"});
}

void add_dlq_show(CLI::App& dlq) {
  auto co = std::make_shared<client_options>();
  auto seq = std::make_shared<std::uint64_t>(0);
  auto* cmd = dlq.add_subcommand("show", "Show a dead letter and the task it holds");
  cmd->add_option("seq", *seq, "Dead-letter sequence number (smith dlq list)")->required();
  add_client_options(cmd, co);
  cmd->footer(example("  smith dlq show 3"));
  cmd->callback([co, seq] {
    run([&] {
      client c{*co};
      auto d = c.call("GET", "/v1/dlq/" + std::to_string(*seq));
      if (co->json_out)
        print_json(d);
      else
        print_dead_letter(d);
      return exit_ok;
    });
  });
}

void add_queue_purge(CLI::App& queues) {
  auto co = std::make_shared<client_options>();
  auto role = std::make_shared<std::string>();
  auto* cmd = queues.add_subcommand(
    "purge", "Remove a role's queued tasks (not those running): they never run, no result");
  cmd->add_option("role", *role, "The role whose queue is emptied")->required();
  add_client_options(cmd, co);
  cmd->footer(example("  smith queues purge execute"));
  cmd->callback([co, role] {
    run([&] {
      client c{*co};
      auto r = c.call("POST", "/v1/queues/" + escaped(c, *role, "role") + "/purge");
      if (co->json_out)
        print_json(r);
      else
        std::printf("purged %llu queued tasks of %s\n",
                    static_cast<unsigned long long>(r.at("purged").get<std::uint64_t>()),
                    escape_text(r.value("role", "")).c_str());
      return exit_ok;
    });
  });
}

} // namespace

void add_list_commands(CLI::App& app) {
  add_tasks(app);
  add_workers(app);
  add_dlq_show(*app.get_subcommand("dlq"));
  add_queue_purge(*app.get_subcommand("queues"));
}

} // namespace smith::services::cli
