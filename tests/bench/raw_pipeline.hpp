// The baseline every benchmark is measured against: the raw nats.c loop (async publish N tasks
// of 256 B, fetch, publish a result, ack), with nats.c's own Fetch and no layer of ours.
#pragma once

#include <chrono>
#include <string>

namespace smith::bench {

/// Prints what failed and exits 1: a benchmark has no way to go on.
[[noreturn]] void die(const std::string& what);

double seconds_since(std::chrono::steady_clock::time_point start);

/// Runs the raw loop once on the server at `url` with ids unique to `round`; returns tasks/s.
double run_raw_pipeline(const std::string& url, int n, int batch, int round);

} // namespace smith::bench
