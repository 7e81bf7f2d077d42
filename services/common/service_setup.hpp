// What every long-running service does first: read the SMITH_* connection and topology
// settings, and create the streams and consumers that are missing (never changing live ones).
#pragma once

#include "transport/config.hpp"
#include "transport/connection.hpp"
#include "transport/logging/logger.hpp"

#include <optional>

namespace smith::services::common {

struct service_settings {
  transport::connection_config connection;
  transport::topology_config topology;
};

/// Reads the settings from the environment; logs the error to `log` (the service's logger) and
/// returns nothing when one is bad.
std::optional<service_settings> read_service_settings(transport::logging::logger& log);

/// Applies the topology in create_only mode and logs what drifted to `log`. Returns whether it
/// is there.
bool create_missing_topology(const transport::connection& conn,
                             const transport::topology_config& topo,
                             transport::logging::logger& log);

} // namespace smith::services::common
