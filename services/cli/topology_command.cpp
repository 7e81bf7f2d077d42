#include "services/cli/topology_command.hpp"

#include "transport/config.hpp"
#include "transport/connection.hpp"
#include "transport/topology.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace smith::services::cli {

namespace tp = smith::transport;

namespace {

struct topology_options {
  bool json = false;
};

std::string_view to_string(tp::applied::change c) {
  switch (c) {
    case tp::applied::change::created:
      return "created";
    case tp::applied::change::updated:
      return "updated";
    case tp::applied::change::unchanged:
      return "unchanged";
    case tp::applied::change::drifted:
      return "drifted";
  }
  return "unknown";
}

int run_apply(const topology_options& opts) {
  auto env = tp::process_env();
  auto cc = tp::parse_connection_config(env);
  auto tc = tp::parse_topology_config(env);
  for (const auto* err : {cc ? nullptr : &cc.error(), tc ? nullptr : &tc.error()}) {
    if (err != nullptr) {
      std::fprintf(stderr, "smith: %s\n", err->message().c_str());
      return 2;
    }
  }
  cc->retry_on_failed_connect = false;
  auto conn = tp::connection::connect(*cc);
  if (!conn) {
    std::fprintf(stderr, "smith: %s\n", conn.error().to_string().c_str());
    return 1;
  }
  auto out = tp::apply(**conn, tp::declare(*tc));
  if (!out) {
    std::fprintf(stderr, "smith: %s\n", out.error().to_string().c_str());
    return 1;
  }
  if (opts.json) {
    auto arr = nlohmann::json::array();
    for (const auto& a : *out)
      arr.push_back(
        {{"kind", a.kind}, {"name", a.name}, {"change", to_string(a.what)}, {"fields", a.fields}});
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  for (const auto& a : *out) {
    std::string fields;
    for (const auto& f : a.fields)
      fields += (fields.empty() ? " (" : ", ") + f;
    if (!fields.empty())
      fields += ')';
    std::printf("%-8s %-32s %s%s\n", a.kind.c_str(), a.name.c_str(), to_string(a.what).data(),
                fields.c_str());
  }
  return 0;
}

} // namespace

void add_topology_command(CLI::App& app) {
  auto opts = std::make_shared<topology_options>();
  auto* topo = app.add_subcommand("topology", "Manage the JetStream streams and consumers");
  topo->require_subcommand(1);
  auto* apply = topo->add_subcommand(
    "apply", "Create or update SMITH_TASKS, SMITH_RESULTS, SMITH_DLQ and one consumer per role "
             "(SMITH_ROLES); a field that cannot change in place is an error naming it");
  apply->add_flag("--json", opts->json, "Print what changed as JSON");
  apply->callback([opts] { throw CLI::RuntimeError(run_apply(*opts)); });
}

} // namespace smith::services::cli
