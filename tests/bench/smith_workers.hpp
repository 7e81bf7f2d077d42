// `smith worker --role bench` processes at their default settings, started by a benchmark on
// its own server and drained when it is done. Only the address they listen on is chosen here.
#pragma once

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smith::transport {
class connection;
} // namespace smith::transport

namespace smith::bench {

/// Applies the topology a deployment gets from a default topology_config, with the one role
/// "bench": the consumer and stream limits the workers are measured with are the shipped ones.
void apply_default_topology(const transport::connection& conn);

class smith_workers {
public:
  /// Starts `count` workers of `smith` on the server at `url`, each logging to a file in its
  /// own directory, and waits until every one answers /ready and the role's consumer has pull
  /// requests waiting. SMITH_* variables of our environment are not passed on, so the workers
  /// run at their defaults whatever the shell that started us has set.
  /// `extra` goes after the worker's own flags (a --handler-process for Python handlers).
  smith_workers(const std::string& smith, const std::string& url, int count,
                const transport::connection& conn, const std::vector<std::string>& extra = {});

  /// SIGTERM: each worker drains and exits (SIGKILL if it takes over 30 s).
  ~smith_workers();

  smith_workers(const smith_workers&) = delete;
  smith_workers& operator=(const smith_workers&) = delete;

  int count() const noexcept {
    return static_cast<int>(procs_.size());
  }

  /// The CPU seconds all workers have used so far.
  double cpu_seconds() const;

  /// The largest value of a /proc/<pid>/status KiB field ("VmRSS", "VmHWM") among them.
  long max_status_kib(std::string_view field) const;

  /// The concurrency a worker reports on the ping subject (its default when we pass no flag),
  /// or nullopt when none answers.
  static std::optional<int> concurrency(const transport::connection& conn);

  /// Where worker `i` logs; every failure message names it.
  std::filesystem::path log(int i) const;

private:
  testing::temp_dir dir_{"smith-bench-workers-"};
  std::vector<testing::child_process> procs_;
};

} // namespace smith::bench
