// `smith gateway`: the MCP gateway. Worker task types, as its tools file describes them, are
// tools for AI agents over MCP's Streamable HTTP transport on /mcp.
#pragma once

#include <CLI/CLI.hpp>

namespace smith::services::gateway {

void add_gateway_command(CLI::App& app);

} // namespace smith::services::gateway
