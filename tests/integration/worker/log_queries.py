#!/usr/bin/env python3
"""Runs the operators' CloudWatch Logs Insights queries (docs DESIGN.md section 4) over a log
file, as Logs Insights would, and prints what they see as one JSON document (stdlib only).

    log_queries.py LOG_FILE

Only the commands these queries use are implemented: `filter @message like /re/`,
`parse @message /re/` (named groups `(?<name>...)`; a line the pattern misses gets null
fields), `filter <field> > <number>` and `stats count() by <field>`. Every line is also decoded
as JSON with a check for keys given twice, which a plain decode would hide.

Output: {"lines": [{"n", "message", "json", "unique_keys", "<query>": {"fields", "kept"}}],
         "results": {"<query>": [records or stats rows]}}
"""
import json
import re
import sys

QUERIES = {
    "slow": (
        r'filter @message like /task_duration/ | parse @message /"task_id":"(?<taskId>[^"]+)"/'
        r' | parse @message /"duration_ms":(?<duration>\d+)/ | filter duration > 10000'
    ),
    "errors": (
        r'filter @message like /ERROR/ | parse @message /"error_type":"(?<errorType>[^"]+)"/'
        r" | stats count() by errorType"
    ),
}


def compile_query(text):
    """The query as a list of (command, argument) steps."""
    steps = []
    for part in (p.strip() for p in text.split(" | ")):
        if m := re.fullmatch(r"filter @message like /(.*)/", part):
            steps.append(("like", re.compile(m.group(1))))
        elif m := re.fullmatch(r"parse @message /(.*)/", part):
            # Logs Insights (like PCRE) names groups (?<name>...); Python wants (?P<name>...).
            steps.append(("parse", re.compile(re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", m.group(1)))))
        elif m := re.fullmatch(r"filter (\w+) > (\d+)", part):
            steps.append(("greater", (m.group(1), int(m.group(2)))))
        elif m := re.fullmatch(r"stats count\(\) by (\w+)", part):
            steps.append(("stats", m.group(1)))
        else:
            raise SystemExit(f"log_queries.py: unsupported query step: {part}")
    return steps


def run_line(steps, message):
    """The fields a line gets and whether it passes every filter (stats aside)."""
    fields = {}
    for kind, arg in steps:
        if kind == "like":
            if not arg.search(message):
                return {"fields": None, "kept": False}
        elif kind == "parse":
            m = arg.search(message)
            for name in arg.groupindex:
                fields[name] = m.group(name) if m else None
        elif kind == "greater":
            name, bound = arg
            value = fields.get(name)
            if value is None or float(value) <= bound:
                return {"fields": fields, "kept": False}
    return {"fields": fields, "kept": True}


def decode(message):
    """The decoded line and whether no object in it has a key twice."""
    unique = True

    def pairs(items):
        nonlocal unique
        keys = [k for k, _ in items]
        if len(keys) != len(set(keys)):
            unique = False
        return dict(items)

    try:
        return json.loads(message, object_pairs_hook=pairs), unique
    except ValueError:
        return None, False


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    compiled = {name: compile_query(q) for name, q in QUERIES.items()}
    lines = []
    results = {name: [] for name in QUERIES}
    with open(sys.argv[1], encoding="utf-8", errors="surrogateescape") as f:
        for n, raw in enumerate(f, 1):
            message = raw.rstrip("\n")
            doc, unique = decode(message)
            entry = {"n": n, "message": message.encode("utf-8", "replace").decode("utf-8"),
                     "json": doc, "unique_keys": unique}
            for name, steps in compiled.items():
                seen = run_line(steps, message)
                entry[name] = seen
                if seen["kept"]:
                    results[name].append(seen["fields"])
            lines.append(entry)
    for name, steps in compiled.items():
        stats = [arg for kind, arg in steps if kind == "stats"]
        if stats:
            counts = {}
            for fields in results[name]:
                key = fields.get(stats[0])
                counts[key] = counts.get(key, 0) + 1
            results[name] = [{stats[0]: k, "count()": v} for k, v in counts.items()]
    json.dump({"lines": lines, "results": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
