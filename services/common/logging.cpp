#include "services/common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace smith::services::common {

namespace {

void append_escaped(spdlog::memory_buf_t& out, spdlog::string_view_t text) {
  for (char c : text) {
    switch (c) {
      case '"':
        out.append(std::string_view{"\\\""});
        break;
      case '\\':
        out.append(std::string_view{"\\\\"});
        break;
      case '\n':
        out.append(std::string_view{"\\n"});
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
        else
          out.push_back(c);
    }
  }
}

// A message that is already a JSON object is merged into the line; any other text becomes
// its "msg" field.
class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& out) override {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch());
    std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    static constexpr const char* levels[] = {"TRACE", "DEBUG", "INFO", "WARN",
                                             "ERROR", "FATAL", "OFF"};
    fmt::format_to(std::back_inserter(out),
                   R"({{"ts":"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z","level":"{}")",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   ms.count() % 1000, levels[msg.level]);
    auto text = msg.payload;
    if (text.size() >= 2 && text[0] == '{' && text[text.size() - 1] == '}') {
      if (text.size() > 2)
        out.push_back(',');
      out.append(spdlog::string_view_t{text.data() + 1, text.size() - 1});
    } else {
      out.append(std::string_view{R"(,"msg":")"});
      append_escaped(out, text);
      out.append(std::string_view{"\"}"});
    }
    out.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

} // namespace

void setup_json_logging() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  auto logger = spdlog::stdout_logger_mt("smith");
  logger->set_formatter(std::make_unique<json_formatter>());
  logger->flush_on(spdlog::level::trace);
  // SMITH_LOG_LEVEL: trace, debug, info (default), warn, error, critical, off.
  if (const char* level = std::getenv("SMITH_LOG_LEVEL"); level != nullptr && *level != '\0') {
    auto l = spdlog::level::from_str(level);
    if (l == spdlog::level::off && std::string_view{level} != "off")
      throw std::invalid_argument(std::string{"SMITH_LOG_LEVEL=\""} + level
                                  + "\": use trace, debug, info, warn, error, critical or off");
    logger->set_level(l);
  }
  spdlog::set_default_logger(logger);
}

} // namespace smith::services::common
