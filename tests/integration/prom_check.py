#!/usr/bin/python3
"""Checks Prometheus text exposition files (format 0.0.4) as strictly as
node_exporter's textfile collector reads them, for tests/integration/
metrics.bats.

  prom_check.py FILE...      every FILE valid; prints the last one's series
                             as JSON ({"name{label=\"v\",...}": value})
  prom_check.py --monotonic FILE...
                             also: no counter of a FILE is below the same
                             counter in an earlier FILE (a counter going down
                             is a reset to Prometheus)

Two readers agree on each file: the rules below (one family's lines
together, HELP and TYPE at most once and before its samples, valid names,
label values quoted and escaped, no duplicate series, no timestamps, which
the textfile collector refuses, counters named *_total with finite values
>= 0, a newline at the end), and Debian's python3-prometheus-client
parser, whose families and values must be the same.
"""
import json
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(
    rf"^({NAME})(\{{(?:{LABEL}={LABEL_VALUE}(?:,{LABEL}={LABEL_VALUE})*,?)?\}})? ([^ ]+)$"
)
LABEL_PAIR = re.compile(rf"({LABEL})=({LABEL_VALUE})")
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def fail(path, n, msg):
    sys.exit(f"{path}:{n}: {msg}")


def value_of(path, n, s):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    try:
        return float(s)
    except ValueError:
        fail(path, n, f"not a number: {s!r}")


def family_of(name, types):
    for suffix in ("_bucket", "_count", "_sum"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def check(path):
    """The series of PATH, {key: value}, after every rule is checked."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        fail(path, text.count("\n") + 1, "no newline at the end")
    helps, types, seen_families, series = {}, {}, [], {}
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            m = HELP.match(line)
            t = TYPE.match(line)
            if line.startswith("# HELP ") and not m:
                fail(path, n, f"malformed HELP: {line!r}")
            if line.startswith("# TYPE ") and not t:
                fail(path, n, f"malformed TYPE: {line!r}")
            if m or t:
                name = (m or t).group(1)
                kind = "HELP" if m else "TYPE"
                store = helps if m else types
                if name in store:
                    fail(path, n, f"second {kind} for {name}")
                if name in seen_families and current != name:
                    fail(path, n, f"{kind} for {name} after its samples were over")
                if any(k.startswith(name + "{") or k == name for k in series):
                    fail(path, n, f"{kind} for {name} after its samples")
                store[name] = m.group(2) if m else t.group(2)
                if name != current:
                    if name in seen_families:
                        fail(path, n, f"{name} appears in two places")
                    seen_families.append(name)
                    current = name
            continue
        m = SAMPLE.match(line)
        if not m:
            fail(path, n, f"not a sample line (a timestamp, a bad name, label or value?): {line!r}")
        name, labels, raw = m.group(1), m.group(2) or "", m.group(3)
        fam = family_of(name, types)
        if fam != current:
            if fam in seen_families:
                fail(path, n, f"{fam}'s lines are not together")
            seen_families.append(fam)
            current = fam
        pairs = LABEL_PAIR.findall(labels)
        names = [k for k, _ in pairs]
        if len(set(names)) != len(names):
            fail(path, n, f"a label twice: {line!r}")
        key = name + "{" + ",".join(f"{k}={v}" for k, v in sorted(pairs)) + "}"
        if key in series:
            fail(path, n, f"duplicate series {key}")
        v = value_of(path, n, raw)
        if types.get(fam) == "counter":
            if not name.endswith("_total"):
                fail(path, n, f"counter {name} is not named *_total")
            if math.isnan(v) or math.isinf(v) or v < 0:
                fail(path, n, f"counter {name} = {raw}")
        series[key] = v
    for name, kind in types.items():
        if kind not in TYPES:
            fail(path, 0, f"{name}: type {kind}")

    # The Python client's parser must read the same.
    parsed = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = s.name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items())) + "}"
            parsed[key] = s.value
    if parsed != series:
        only_a = sorted(set(series) - set(parsed))
        only_b = sorted(set(parsed) - set(series))
        diff = [k for k in series if k in parsed and series[k] != parsed[k]]
        fail(path, 0, f"prometheus_client reads otherwise: missing {only_a[:3]}, extra {only_b[:3]}, values {diff[:3]}")
    return series, types


def main(argv):
    monotonic = False
    if argv and argv[0] == "--monotonic":
        monotonic = True
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__)
    before = None
    last = None
    for path in argv:
        series, types = check(path)
        if monotonic and before is not None:
            for key, v in series.items():
                fam = key.split("{")[0]
                if types.get(family_of(fam, types)) == "counter" and key in before and v < before[key]:
                    sys.exit(f"{path}: {key} went down from {before[key]} to {v}")
        before = series
        last = series
    print(json.dumps({k: (int(v) if float(v).is_integer() else v) for k, v in last.items()}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
