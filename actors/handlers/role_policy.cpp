#include "actors/handlers/role_policy.hpp"

#include "actors/handlers/builtin_handlers.hpp"
#include "actors/handlers/exec_handler.hpp"
#include "actors/handlers/hash_handler.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <vector>

namespace smith::actors::handlers {

namespace {

const std::map<std::string, std::vector<std::string>>& role_defaults() {
  static const std::map<std::string, std::vector<std::string>> defaults{
    // No interpreter, compiler or build tool (each runs whatever code a task brings): an
    // operator who wants them names them in SMITH_EXEC_ALLOW.
    {"compile", {}},
    {"analyze", {"grep", "wc", "sha256sum", "file"}},
    {"execute", {"echo", "true", "false", "sleep"}},
  };
  return defaults;
}

// A positive whole number from the environment, times `unit`; `fallback` when unset.
std::uint64_t limit_from_env(const char* name, std::uint64_t unit, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0')
    return fallback;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text, text + std::strlen(text), value);
  if (ec != std::errc{} || *end != '\0' || value == 0
      || value > std::numeric_limits<std::uint64_t>::max() / unit)
    throw std::invalid_argument(std::string{name} + "=\"" + text
                                + "\": must be a whole number greater than 0");
  return value * unit;
}

} // namespace

child_limits exec_limits_from_env() {
  constexpr std::uint64_t mib = std::uint64_t{1} << 20;
  child_limits defaults;
  child_limits out;
  out.address_space_bytes =
    limit_from_env("SMITH_EXEC_MAX_MEMORY_MB", mib, defaults.address_space_bytes);
  out.processes = limit_from_env("SMITH_EXEC_MAX_PROCS", 1, defaults.processes);
  out.open_files = limit_from_env("SMITH_EXEC_MAX_FILES", 1, defaults.open_files);
  out.file_size_bytes = limit_from_env("SMITH_EXEC_MAX_FILE_MB", mib, defaults.file_size_bytes);
  return out;
}

std::map<std::string, std::string> exec_allow_list(const std::string& role,
                                                   const char* override_list) {
  std::map<std::string, std::string> out;
  if (override_list != nullptr) {
    std::string_view text{override_list};
    while (!text.empty()) {
      auto comma = text.find(',');
      auto item = text.substr(0, comma);
      auto eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0 || item.size() <= eq + 1 || item[eq + 1] != '/')
        throw std::invalid_argument("SMITH_EXEC_ALLOW: \"" + std::string{item}
                                    + "\" must be name=/absolute/path");
      out.emplace(std::string{item.substr(0, eq)}, std::string{item.substr(eq + 1)});
      if (comma == std::string_view::npos)
        break;
      text.remove_prefix(comma + 1);
    }
    return out;
  }
  auto it = role_defaults().find(role);
  if (it == role_defaults().end())
    return out;
  for (const auto& name : it->second)
    for (const char* dir : {"/usr/bin/", "/bin/", "/usr/local/bin/"})
      if (std::filesystem::exists(std::string{dir} + name)) {
        out.emplace(name, std::string{dir} + name);
        break;
      }
  return out;
}

void add_builtin_handlers(actors::handler_registry& reg, const std::string& role,
                          const std::map<std::string, std::string>& exec_allow) {
  (void)role;
  // A type the program registered itself keeps its handler.
  auto add = [&reg](const char* type, actors::handler_fn fn, actors::handler_options opts = {}) {
    if (reg.find(type) == nullptr)
      reg.add(type, std::move(fn), opts);
  };
  add("echo", actors::handlers::echo_handler, {.blocking = false});
  add("sleep", actors::handlers::sleep_handler);
  add("fail", actors::handlers::fail_handler, {.blocking = false});
  add("hash", actors::handlers::hash_handler);
  if (reg.find("exec") == nullptr) {
    actors::handlers::exec_config ec;
    ec.allow = exec_allow;
    ec.limits = exec_limits_from_env();
    reg.add("exec", actors::handlers::make_exec_handler(std::move(ec)));
  }
}

} // namespace smith::actors::handlers
