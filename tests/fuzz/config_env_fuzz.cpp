// Fuzz target: the SMITH_* settings. An input is an environment, one NAME=VALUE a line (the last
// of a name wins). Proves that parse_connection_config and parse_topology_config give an error or
// a config that passes validate(), never a crash, an exception, a leak or UB (an overflowing
// duration or redelivery horizon among them); that every duration of a topology that passes
// fits the server's int64 nanoseconds (transport/topology.cpp converts each); and that every
// value parse_duration accepts is a duration of at least zero that duration_text writes back as
// the same duration.
#include "tests/fuzz/check.hpp"
#include "transport/config.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tp = smith::transport;

namespace {

bool fits_server(std::chrono::milliseconds d) {
  return d.count() >= 0 && d.count() <= std::numeric_limits<std::int64_t>::max() / 1'000'000;
}

void check_duration(std::string_view text) {
  auto d = tp::parse_duration(text);
  if (!d)
    return;
  FUZZ_CHECK(d->count() >= 0);
  auto again = tp::parse_duration(tp::duration_text(*d));
  FUZZ_CHECK(again.has_value() && *again == *d);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  std::map<std::string, std::string, std::less<>> vars;
  while (!input.empty()) {
    auto end = input.find('\n');
    auto line = input.substr(0, end);
    if (auto eq = line.find('='); eq != std::string_view::npos) {
      vars.insert_or_assign(std::string{line.substr(0, eq)}, std::string{line.substr(eq + 1)});
      check_duration(line.substr(eq + 1));
    }
    if (end == std::string_view::npos)
      break;
    input.remove_prefix(end + 1);
  }
  tp::env_lookup env = [&vars](std::string_view name) -> std::optional<std::string> {
    if (auto it = vars.find(name); it != vars.end())
      return it->second;
    return std::nullopt;
  };
  if (auto cc = tp::parse_connection_config(env))
    FUZZ_CHECK(tp::validate(*cc).has_value());
  if (auto tc = tp::parse_topology_config(env)) {
    FUZZ_CHECK(tp::validate(*tc).has_value());
    auto horizon = tp::redelivery_horizon(*tc);
    FUZZ_CHECK(horizon <= tc->results_max_age && horizon <= tc->dlq_max_age);
    FUZZ_CHECK(fits_server(tc->ack_wait) && fits_server(tc->duplicate_window)
               && fits_server(tc->results_max_age) && fits_server(tc->dlq_max_age)
               && fits_server(horizon));
    for (auto step : tc->backoff)
      FUZZ_CHECK(fits_server(step));
  }
  return 0;
}
