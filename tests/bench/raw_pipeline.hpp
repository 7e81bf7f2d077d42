// The baselines every benchmark is measured against, in plain nats.c with no layer of ours:
// the raw loop (the upper bound) and a careful hand-written worker with smith's guarantees.
#pragma once

#include <chrono>
#include <string>

namespace smith::bench {

/// Prints what failed and exits 1: a benchmark has no way to go on.
[[noreturn]] void die(const std::string& what);

double seconds_since(std::chrono::steady_clock::time_point start);

/// The raw loop: async publish N tasks of 256 B, fetch, publish a result, ack at once. Runs
/// once on the server at `url` with ids unique to `round`; returns tasks/s.
double run_raw_pipeline(const std::string& url, int n, int batch, int round);

/// The loop a careful engineer writes by hand with nats.c: fetch 256 at a time, publish each
/// result (an echo of the task's 256 B, as smith's echo tasks return) with a Nats-Msg-Id, and
/// ack the task only once its result's PubAck arrived
/// (from the PubAck handler, so nothing waits per message). Own streams (BLFL_*), ids unique
/// to `round`, the clock as in run_raw_pipeline; returns tasks/s.
double run_like_for_like(const std::string& url, int n, int round);

} // namespace smith::bench
