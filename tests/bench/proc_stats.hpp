// What /proc says about a process we started: CPU time and memory, read the way `ps` does.
#pragma once

#include <sys/types.h>

#include <string_view>

namespace smith::bench {

/// User plus system CPU seconds `pid` has used so far (utime + stime of /proc/<pid>/stat).
/// Dies if the process is gone: a benchmark that lost its worker has nothing to report.
double cpu_seconds(pid_t pid);

/// A KiB field of /proc/<pid>/status, e.g. "VmRSS" (resident now) or "VmHWM" (the peak).
/// Dies if the process or the field is missing.
long status_kib(pid_t pid, std::string_view field);

} // namespace smith::bench
