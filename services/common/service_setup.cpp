#include "services/common/service_setup.hpp"

#include "transport/topology.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace smith::services::common {

namespace tp = smith::transport;

std::optional<service_settings> read_service_settings() {
  auto env = tp::process_env();
  auto cc = tp::parse_connection_config(env);
  auto tc = tp::parse_topology_config(env);
  if (!cc || !tc) {
    spdlog::error(R"({{"msg":"bad configuration","error_type":"config","error":"{}"}})",
                  (!cc ? cc.error() : tc.error()).message());
    return std::nullopt;
  }
  return service_settings{std::move(*cc), std::move(*tc)};
}

bool create_missing_topology(const tp::connection& conn, const tp::topology_config& topo) {
  auto r = tp::apply(conn, tp::declare(topo), tp::apply_mode::create_only);
  if (!r) {
    spdlog::warn(R"({{"msg":"topology not applied","error":"{}"}})", r.error().message());
    return false;
  }
  for (const auto& a : *r)
    if (a.what == tp::applied::change::drifted)
      spdlog::warn(R"({{"msg":"{} {} differs from this process's settings in {}; left as it is, )"
                   R"(smith topology apply updates it"}})",
                   a.kind, a.name, fmt::join(a.fields, ", "));
  return true;
}

} // namespace smith::services::common
