"""What the peer benchmarks record: latency percentiles and the JSON lines they append.

The line schema is shared with the C++ benches (tests/bench/*.cpp), so scripts/bench-report
reads both the same way.
"""

import json
import math
import os

PAYLOAD_BYTES = 256


def payload() -> bytes:
    # A fixed 256 B body, the same size the C++ benches send.
    return b"x" * PAYLOAD_BYTES


def percentile(sorted_values, q):
    """Nearest-rank percentile (q in 0..100) of an already sorted, non-empty list."""
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary(latencies_s):
    """p50/p90/p99/p999/max in milliseconds, keyed by the metric names of the schema."""
    ms = sorted(v * 1000.0 for v in latencies_s)
    return {
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "p999_ms": percentile(ms, 99.9),
        "max_ms": ms[-1],
    }


class JsonLines:
    """Appends one line per number to the results file (bench "peers")."""

    def __init__(self, path, system, workers, concurrency):
        self.path = path
        self.system = system
        self.workers = workers
        self.concurrency = concurrency

    def emit(self, metric, value, round_=None, rate=None):
        line = {"bench": "peers", "system": self.system, "metric": metric,
                "value": round(float(value), 3)}
        if round_ is not None:
            line["round"] = round_
        line["workers"] = self.workers
        line["concurrency"] = self.concurrency
        if rate is not None:
            line["rate"] = rate
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
        # Also on stdout, so a person watching the run sees the numbers as they come.
        print(f"  {self.system:16} {metric:14} {line['value']:>12}"
              + (f"  round {round_}" if round_ is not None else "")
              + (f"  @ {rate}/s" if rate is not None else ""), flush=True)

    def emit_latency(self, latencies_s, rate):
        for metric, value in latency_summary(latencies_s).items():
            self.emit(metric, value, rate=rate)


def cores() -> int:
    return os.cpu_count() or 1
