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
  status->callback([co, id] {
    run([&] {
      client c{*co};
      auto s = c.call("GET", "/v1/tasks/" + *id);
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
  watch->callback([wo, wid] {
    run([&] {
      client c{*wo};
      auto s = follow(c, *wid, tp::milliseconds{0},
                      [&](const json& st) { show_change(st, wo->json_out, false); });
      if (!wo->json_out) {
        auto out = output_of(s);
        std::fwrite(out.data(), 1, out.size(), stdout);
      }
      return exit_for(s);
    });
  });

  auto xo = std::make_shared<client_options>();
  auto xid = std::make_shared<std::string>();
  auto* cancel = app.add_subcommand("cancel", "Cancel a scheduled, queued or running task");
  cancel->add_option("id", *xid, "Task id")->required();
  add_client_options(cancel, xo);
  cancel->callback([xo, xid] {
    run([&] {
      client c{*xo};
      auto s = c.call("POST", "/v1/tasks/" + *xid + "/cancel");
      std::printf("%s\n",
                  xo->json_out ? s.dump().c_str() : (*xid + " " + s.value("state", "")).c_str());
      return exit_ok;
    });
  });
}

void add_queues(CLI::App& app) {
  auto co = std::make_shared<client_options>();
  auto* cmd = app.add_subcommand("queues", "Per role: pending, in flight, workers, oldest");
  add_client_options(cmd, co);
  cmd->callback([co] {
    run([&] {
      client c{*co};
      auto q = c.call("GET", "/v1/queues");
      if (co->json_out) {
        std::printf("%s\n", q.dump().c_str());
        return exit_ok;
      }
      std::printf("%-16s %10s %10s %8s %12s\n", "ROLE", "PENDING", "IN_FLIGHT", "WORKERS",
                  "OLDEST_S");
      for (const auto& r : q["queues"])
        std::printf("%-16s %10llu %10lld %8d %12.1f\n", r["role"].get<std::string>().c_str(),
                    static_cast<unsigned long long>(r["pending"].get<std::uint64_t>()),
                    static_cast<long long>(r["in_flight"].get<std::int64_t>()),
                    r["workers"].get<int>(), r["oldest_pending_s"].get<double>());
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
  list->callback([co, limit] {
    run([&] {
      client c{*co};
      auto d = c.call("GET", "/v1/dlq?limit=" + std::to_string(*limit));
      if (co->json_out) {
        std::printf("%s\n", d.dump().c_str());
        return exit_ok;
      }
      std::printf("%-8s %-28s %-10s %-10s %8s  %s\n", "SEQ", "ID", "ROLE", "TYPE", "ATTEMPTS",
                  "REASON");
      for (const auto& e : d["dead_letters"])
        std::printf("%-8llu %-28s %-10s %-10s %8d  %s\n",
                    static_cast<unsigned long long>(e["seq"].get<std::uint64_t>()),
                    e.value("id", "").c_str(), e.value("role", "").c_str(),
                    e.value("type", "").c_str(), e.value("attempts", 0),
                    e.value("reason", "").c_str());
      return exit_ok;
    });
  });

  auto ro = std::make_shared<client_options>();
  auto seqs = std::make_shared<std::vector<std::uint64_t>>();
  auto* requeue = dlq->add_subcommand("requeue", "Put dead letters back in the queue");
  requeue->add_option("seq", *seqs, "Dead-letter sequence numbers")->required();
  add_client_options(requeue, ro);
  requeue->callback([ro, seqs] {
    run([&] {
      client c{*ro};
      for (auto seq : *seqs) {
        auto r = c.call("POST", "/v1/dlq/" + std::to_string(seq) + "/requeue");
        std::printf("%s\n",
                    ro->json_out
                      ? r.dump().c_str()
                      : (std::to_string(seq) + " requeued as " + r.value("id", "")).c_str());
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
