#include "proc_stats.hpp"

#include "raw_pipeline.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace smith::bench {

double cpu_seconds(pid_t pid) {
  auto path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in{path};
  std::string stat{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  // The command name (field 2) may hold spaces and parentheses; the fields after the last ')'
  // start at field 3 (state), so utime and stime (14 and 15) are the 12th and 13th there.
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    die("cannot read " + path + ": is the worker still running?");
  std::istringstream fields{stat.substr(close + 1)};
  std::string skip;
  for (int i = 3; i < 14; ++i)
    fields >> skip;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (!(fields >> utime >> stime))
    die("cannot parse utime and stime in " + path);
  static const long ticks = sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(ticks);
}

long status_kib(pid_t pid, std::string_view field) {
  auto path = "/proc/" + std::to_string(pid) + "/status";
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line))
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0
        && line[field.size()] == ':')
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  die("no " + std::string{field} + " in " + path + ": is the worker still running?");
}

} // namespace smith::bench
