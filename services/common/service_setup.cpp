#include "services/common/service_setup.hpp"

#include "transport/topology.hpp"

#include <fmt/format.h>

namespace smith::services::common {

namespace tp = smith::transport;

std::optional<service_settings> read_service_settings(tp::logging::logger& log) {
  auto env = tp::process_env();
  auto cc = tp::parse_connection_config(env);
  auto tc = tp::parse_topology_config(env);
  if (!cc || !tc) {
    SMITH_LOG(log, error, "bad configuration", {"error_type", "config"},
              {"error", (!cc ? cc.error() : tc.error()).message()});
    return std::nullopt;
  }
  return service_settings{std::move(*cc), std::move(*tc)};
}

bool create_missing_topology(const tp::connection& conn, const tp::topology_config& topo,
                             tp::logging::logger& log) {
  auto r = tp::apply(conn, tp::declare(topo), tp::apply_mode::create_only);
  if (!r) {
    SMITH_LOG(log, warn, "topology not applied", {"error", r.error().message()});
    return false;
  }
  for (const auto& a : *r)
    if (a.what == tp::applied::change::drifted)
      SMITH_LOG(log, warn,
                "topology differs from this process's settings; left as it is, smith topology "
                "apply updates it",
                {"kind", a.kind}, {"name", a.name},
                {"fields", fmt::format("{}", fmt::join(a.fields, ", "))});
  return true;
}

} // namespace smith::services::common
