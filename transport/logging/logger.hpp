// Named loggers over spdlog: one per layer or service (transport, actors, worker,
// orchestrator, cli, gateway), all writing JSON lines made by the encoder (encoder.hpp) to one
// output, stdout unless told otherwise, each line written at once, except the per-task lines of
// a busy worker (write_gathered). They work before any set-up: at level info, on stdout. Log
// through SMITH_LOG, which builds a line's fields only when its level is enabled.
#pragma once

#include "transport/logging/field.hpp"
#include "transport/logging/level.hpp"

#include <cstdio>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
} // namespace spdlog

namespace smith::transport::logging {

class logger {
public:
  ~logger();

  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  // -- properties ---------------------------------------------------------------------------

  /// The name every line carries as "logger".
  const std::string& name() const noexcept {
    return name_;
  }

  /// Whether a line at `l` would be written.
  bool enabled(level l) const noexcept;

  /// This logger only; logging::set_level sets all of them again.
  void set_level(level l) noexcept;

  // -- writing ------------------------------------------------------------------------------

  /// Writes one line. Call it through SMITH_LOG, so nothing is built for a level that is off.
  void write(level l, std::string_view msg, std::initializer_list<field> fields = {}) const;

  /// Writes one line with those gathered for about a millisecond, in one system call: for the
  /// line a worker writes per task, which would otherwise cost a write per task. The line is
  /// written before any later line written at once, at exit and on flush(), so order holds.
  void write_gathered(level l, std::string_view msg, std::initializer_list<field> fields) const;

private:
  friend logger& get(std::string_view name);

  explicit logger(std::string name);

  std::string name_;
  std::shared_ptr<spdlog::logger> impl_;
};

/// The logger called `name`, made on first use and kept until the process ends.
logger& get(std::string_view name);

/// Sets the level of every logger, and of those made later (info until set). Also spdlog's own
/// loggers, so a direct spdlog call obeys it too.
void set_level(level l) noexcept;

/// Where every logger writes (stdout unless set; `out` must stay open). The CLI logs to stderr,
/// tests to a file.
void set_output(std::FILE* out) noexcept;

/// Writes every gathered line now (see logger::write_gathered).
void flush() noexcept;

/// Makes spdlog's default logger (code that calls spdlog:: itself) write the same JSON lines,
/// as logger `name`, its text escaped as "msg".
void route_spdlog_default(std::string_view name);

} // namespace smith::transport::logging

/// Writes one line to the logger `to` at level `lvl` (trace, debug, info, warn, error or
/// fatal), with the message `msg` and the fields after it, each `{"key", value}`. When the
/// level is off, neither the message nor any field is evaluated:
///
///   SMITH_LOG(log(), warn, "fetch failed", {"error_type", to_string(e.code())},
///             {"error", e.message()});
#define SMITH_LOG(to, lvl, msg, ...)                                                               \
  do {                                                                                             \
    if (auto& smith_log_to_ = (to);                                                                \
        smith_log_to_.enabled(::smith::transport::logging::level::lvl))                            \
      smith_log_to_.write(::smith::transport::logging::level::lvl, (msg), {__VA_ARGS__});          \
  } while (false)
