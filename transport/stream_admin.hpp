// Stream housekeeping an operator asks for: which durable consumers a stream has (the roles a
// deployment learned from its workers) and purging a subject filter with the count removed.
#pragma once

#include "transport/expected.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace smith::transport {

class connection;

/// The names of the stream's consumers (durable and ephemeral), in the server's order.
expected<std::vector<std::string>> consumer_names(const connection& conn,
                                                  const std::string& stream);

/// Removes every message of `stream` whose subject matches `filter` (wildcards allowed) and
/// returns how many the server removed.
expected<std::uint64_t> purge_filter(const connection& conn, const std::string& stream,
                                     const std::string& filter);

} // namespace smith::transport
