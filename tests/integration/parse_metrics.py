#!/usr/bin/env python3
"""Reads a /metrics scrape (on stdin) with prometheus_client's own text parser, as a Prometheus
server would, and prints what it read as one JSON object:

    {"families": [{"name", "type"}], "samples": [{"name", "labels", "value"}]}

Exits 1, with the parser's complaint on stderr, when the scrape is not UTF-8 or does not parse.
Runs with the Python of .venv-test/ (scripts/test-venv installs the pinned prometheus_client).
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    raw = sys.stdin.buffer.read()
    try:
        families = list(text_string_to_metric_families(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError) as e:
        print(f"the scrape does not parse: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    json.dump(
        {
            "families": [{"name": f.name, "type": f.type} for f in families],
            "samples": [
                {"name": s.name, "labels": s.labels, "value": s.value}
                for f in families
                for s in f.samples
            ],
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
