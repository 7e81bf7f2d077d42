// `smith status|watch|cancel`, `smith queues` and `smith dlq list|requeue|purge`.
#include "services/cli/client.hpp"

#include <unistd.h>

#include <cstdio>

namespace smith::services::cli {

namespace tp = smith::transport;

void add_status_watch_cancel(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto id = std::make_shared<std::string>();
  auto* status = app.add_subcommand("status", "Show a task's state");
  status->add_option("id", *id, "Task id")->required();
  add_client_options(status, co);
  status->footer(example("  smith status hello-1\n  smith status hello-1 --json"));
  status->callback([co, id] {
    run([&] {
      client c{*co};
      auto s = c.task(*id);
      if (co->json_out)
        std::printf("%s\n", s.dump().c_str());
      else
        print_status(s);
      return exit_ok;
    });
  });

  auto wo = std::make_shared<client_options>();
  auto wid = std::make_shared<std::string>();
  auto* watch = app.add_subcommand("watch", "Follow a task until it ends; exit code by outcome");
  watch->add_option("id", *wid, "Task id")->required();
  add_client_options(watch, wo);
  watch->footer(example("  smith watch doomed-2"));
  watch->callback([wo, wid] {
    run([&] {
      client c{*wo};
      auto s = follow(c, *wid, tp::milliseconds{0},
                      [&](const json& st) { show_change(st, wo->json_out, false); });
      if (!wo->json_out)
        write_output(s);
      return exit_for(s);
    });
  });

  auto xo = std::make_shared<client_options>();
  auto xid = std::make_shared<std::string>();
  auto* cancel = app.add_subcommand("cancel", "Cancel a scheduled, queued or running task");
  cancel->add_option("id", *xid, "Task id")->required();
  add_client_options(cancel, xo);
  cancel->footer(example("  smith cancel later-2"));
  cancel->callback([xo, xid] {
    run([&] {
      client c{*xo};
      auto s = c.call("POST", "/v1/tasks/" + *xid + "/cancel");
      std::printf("%s\n", xo->json_out ? s.dump().c_str()
                                       : escape_text(*xid + " " + s.value("state", "")).c_str());
      return exit_ok;
    });
  });
}

void add_queues(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto* cmd = app.add_subcommand("queues", "Per role: pending, in flight, workers, oldest");
  add_client_options(cmd, co);
  cmd->footer(example("  smith queues\n  smith queues --json --api http://127.0.0.1:8080"));
  cmd->callback([co] {
    run([&] {
      client c{*co};
      auto q = c.call("GET", "/v1/queues");
      if (co->json_out) {
        std::printf("%s\n", q.dump().c_str());
        return exit_ok;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& r : q.at("queues")) {
        char oldest[32];
        std::snprintf(oldest, sizeof oldest, "%.1f", r.at("oldest_pending_s").get<double>());
        rows.push_back({r.at("role").get<std::string>(),
                        std::to_string(r.at("pending").get<std::uint64_t>()),
                        std::to_string(r.at("in_flight").get<std::int64_t>()),
                        std::to_string(r.at("workers").get<int>()), oldest});
      }
      print_table({"ROLE", "PENDING", "IN_FLIGHT", "WORKERS", "OLDEST_S"}, rows, {1, 2, 3, 4});
      return exit_ok;
    });
  });
}

void add_dlq(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto* dlq = app.add_subcommand("dlq", "List, requeue or purge dead letters");
  dlq->require_subcommand(1);
  auto limit = std::make_shared<std::size_t>(100);
  auto* list = dlq->add_subcommand("list", "List dead letters");
  list->add_option("--limit", *limit, "At most this many")->capture_default_str();
  add_client_options(list, co);
  list->footer(example("  smith dlq list\n  smith dlq list --limit 10 --json"));
  list->callback([co, limit] {
    run([&] {
      client c{*co};
      auto d = c.call("GET", "/v1/dlq?limit=" + std::to_string(*limit));
      if (co->json_out) {
        std::printf("%s\n", d.dump().c_str());
        return exit_ok;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : d.at("dead_letters"))
        rows.push_back({std::to_string(e.at("seq").get<std::uint64_t>()), e.value("id", ""),
                        e.value("role", ""), e.value("type", ""),
                        std::to_string(e.value("attempts", 0)), e.value("reason", "")});
      print_table({"SEQ", "ID", "ROLE", "TYPE", "ATTEMPTS", "REASON"}, rows, {0, 4});
      return exit_ok;
    });
  });

  auto ro = std::make_shared<client_options>();
  auto seqs = std::make_shared<std::vector<std::uint64_t>>();
  auto* requeue = dlq->add_subcommand("requeue", "Put dead letters back in the queue");
  requeue->add_option("seq", *seqs, "Dead-letter sequence numbers")->required();
  add_client_options(requeue, ro);
  requeue->footer(
    example("  smith dlq requeue 2\n  smith dlq requeue 2 3 --api http://127.0.0.1:8080"));
  requeue->callback([ro, seqs] {
    run([&] {
      client c{*ro};
      for (auto seq : *seqs) {
        auto r = c.call("POST", "/v1/dlq/" + std::to_string(seq) + "/requeue");
        std::printf(
          "%s\n",
          ro->json_out
            ? r.dump().c_str()
            : escape_text(std::to_string(seq) + " requeued as " + r.value("id", "")).c_str());
      }
      return exit_ok;
    });
  });

  auto po = std::make_shared<client_options>();
  auto pseqs = std::make_shared<std::vector<std::uint64_t>>();
  auto all = std::make_shared<bool>(false);
  auto* purge = dlq->add_subcommand("purge", "Delete dead letters: the given ones, or --all");
  purge->add_option("seq", *pseqs, "Dead-letter sequence numbers");
  purge->add_flag("--all", *all, "Delete every dead letter");
  add_client_options(purge, po);
  purge->footer(example("  smith dlq purge 2 3\n  smith dlq purge --all"));
  purge->callback([po, pseqs, all] {
    run([&] {
      if (pseqs->empty() != *all)
        die(exit_bad_request, "give sequence numbers or --all");
      client c{*po};
      auto targets = *pseqs;
      if (*all) {
        std::uint64_t from = 1;
        for (;;) {
          auto d = c.call("GET", "/v1/dlq?limit=1000&from=" + std::to_string(from));
          for (const auto& e : d["dead_letters"])
            targets.push_back(e["seq"].get<std::uint64_t>());
          if (d["dead_letters"].size() < 1000)
            break;
          from = d["next_seq"].get<std::uint64_t>();
        }
      }
      for (auto seq : targets)
        c.call("DELETE", "/v1/dlq/" + std::to_string(seq));
      std::printf("%s\n", po->json_out ? json{{"deleted", targets}}.dump().c_str()
                                       : ("deleted " + std::to_string(targets.size())).c_str());
      return exit_ok;
    });
  });
}

} // namespace smith::services::cli
