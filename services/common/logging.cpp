#include "services/common/logging.hpp"

#include "transport/logging/logger.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace smith::services::common {

namespace logging = transport::logging;

logging::level log_level_from_env() {
  const char* text = std::getenv("SMITH_LOG_LEVEL");
  if (text == nullptr || *text == '\0')
    return logging::level::info;
  if (auto l = logging::parse_level(text))
    return *l;
  throw std::invalid_argument(std::string{"SMITH_LOG_LEVEL=\""} + text
                              + "\": use trace, debug, info, warn, error, fatal or off");
}

void setup_json_logging() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  logging::set_level(log_level_from_env());
  logging::route_spdlog_default("smith");
}

} // namespace smith::services::common
