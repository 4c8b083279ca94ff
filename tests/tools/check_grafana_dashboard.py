#!/usr/bin/env python3
"""Checks a Grafana dashboard against what shoal exports.

usage: check_grafana_dashboard.py DASHBOARD.json METRICS.txt [METRICS.txt ...]

The METRICS files are live /metrics answers (Prometheus text format) of a controller and an
agent. The dashboard must parse as JSON, every panel but rows must carry at least one query, and
every metric name a query uses must be one those answers declare (a histogram's _bucket, _sum
and _count included); `up`, which Prometheus itself records per target, is the one exception.
Exits 0 when all holds, 1 (printing each problem) otherwise.
"""
import json
import re
import sys

IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
# Words inside a PromQL expression that are not metric names.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "topk", "bottomk", "by", "without", "on", "ignoring",
    "group_left", "group_right", "and", "or", "unless", "rate", "irate", "increase", "delta",
    "histogram_quantile", "vector", "scalar", "min_over_time", "max_over_time", "avg_over_time",
    "label_values", "offset", "bool", "abs", "clamp_min", "clamp_max", "time",
}


def exported_names(paths):
    names = set()
    for path in paths:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and parts[0] == "#" and parts[1] == "TYPE":
                    name, kind = parts[2], parts[3]
                    names.add(name)
                    if kind == "histogram":
                        names.update({name + "_bucket", name + "_sum", name + "_count"})
    return names


def metric_names(expr):
    # Drop strings, label matchers, ranges and grouping clauses: what is left outside them and
    # is no PromQL word or number is a metric name.
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    return {w for w in IDENT.findall(expr)
            if w not in PROMQL_WORDS and not re.fullmatch(r"[0-9.e]+", w)}


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    try:
        with open(argv[1]) as f:
            dash = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"FAIL: {argv[1]} does not parse: {e}")
        return 1
    exported = exported_names(argv[2:])
    problems = []
    queries = 0
    for p in panels(dash.get("panels", [])):
        if p.get("type") == "row":
            continue
        targets = [t for t in p.get("targets", []) if t.get("expr")]
        if not targets:
            problems.append(f"panel '{p.get('title')}' has no query")
        for t in targets:
            queries += 1
            names = metric_names(t["expr"])
            if not any(n.startswith("shoal_") or n == "up" for n in names):
                problems.append(f"panel '{p.get('title')}': no shoal metric in {t['expr']}")
            for n in sorted(names):
                if n != "up" and n not in exported:
                    problems.append(f"panel '{p.get('title')}': {n} is not exported ({t['expr']})")
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.match(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)", q)
        if m and m.group(1) not in exported:
            problems.append(f"variable '{v.get('name')}': {m.group(1)} is not exported")
    for p in problems:
        print("FAIL:", p)
    print(f"{argv[1]}: {queries} queries checked against {len(exported)} exported names, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
