#!/usr/bin/env python3
"""runc_span: how long runc waits for each hook, from a kernel trace.

    perf script -F pid,tid,time,event,trace -i FILE | runc_span.py A B

The trace holds the scheduler's fork, exec and exit events of a hook_timer
run of `runc run` with hook program A and with hook program B (basenames of
the programs the hooks exec).  runc waits for a createRuntime hook from the
fork of its process to its exit: that span is the whole of what the hook
adds to the start in line, measured without the rest of the start's spread
(a start varies by milliseconds from run to run, a hook's span by tens of
microseconds).  What the hook leaves behind (caches, the kernel's deferred
work) shows in the time from the hook's exit to runc's, reported beside it.

Output, hook_timer's format:
  span NAME runs=N median_us=.. p99_us=..
  after NAME runs=N median_us=..            (hook exit to runc's exit)
  start NAME runs=N median_us=..            (runc's exec to its exit)
  spanpair A B runs=N diff_median_us=.. diff_lo_us=.. diff_hi_us=..
  afterpair A B runs=N diff_median_us=.. diff_lo_us=.. diff_hi_us=..
  pathpair A B runs=N diff_median_us=.. diff_lo_us=.. diff_hi_us=..
                                            (the two: hook fork to runc's exit)
The k-th run of A is paired with the k-th of B (hook_timer runs them in one
round); the interval is the 95% interval of the median from the order
statistics, as hook_timer's.
"""
import math
import re
import sys

LINE = re.compile(r"\s*(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)")


def parse(lines):
    """Events as (time_us, tgid, tid, name, fields)."""
    for line in lines:
        m = LINE.match(line)
        if m:
            tgid, tid, t, name, rest = m.groups()
            yield float(t) * 1e6, int(tgid), int(tid), name.split(":")[-1], rest


def runs(events, programs):
    """For each hook program, its runs in time order: (span, after, start)."""
    forked = {}  # child pid -> (time, parent tgid)
    runc_exec = {}  # tgid -> exec time of runc
    hooks = {}  # pid -> (program, fork time, runc tgid)
    ended = {}  # pid -> exit time
    out = {p: [] for p in programs}
    pending = []
    for t, tgid, tid, name, rest in events:
        if name == "sched_process_fork":
            child = int(re.search(r"child_pid=(\d+)", rest).group(1))
            forked[child] = (t, tgid)
        elif name == "sched_process_exec":
            prog = re.search(r"filename=(\S+)", rest).group(1).rsplit("/", 1)[-1]
            if prog == "runc":
                runc_exec[tgid] = t
            elif prog in programs and tid in forked:
                fork_t, parent = forked[tid]
                hooks[tid] = (prog, fork_t, parent)
        elif name == "sched_process_exit" and "group_dead=true" in rest:
            ended[tgid] = t
            if tgid in hooks:
                pending.append(tgid)
    for pid in pending:
        prog, fork_t, parent = hooks[pid]
        if parent not in runc_exec or parent not in ended:
            continue
        out[prog].append((ended[pid] - fork_t, ended[parent] - ended[pid], ended[parent] - runc_exec[parent]))
    return out


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def interval(diffs):
    n = len(diffs)
    xs = sorted(diffs)
    half = 0.98 * math.sqrt(n)
    lo = max(0, int(math.floor(n / 2 - half)))
    hi = min(n - 1, int(math.ceil(n / 2 + half)))
    return xs[n // 2], xs[lo], xs[hi]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: runc_span.py PROGRAM_A PROGRAM_B < perf-script-output")
    a, b = sys.argv[1:]
    r = runs(parse(sys.stdin), (a, b))
    for prog in (a, b):
        if not r[prog]:
            sys.exit(f"runc_span: no run of {prog} in the trace")
        spans = sorted(x[0] for x in r[prog])
        print(f"span {prog} runs={len(spans)} median_us={median(spans):.1f} "
              f"p99_us={spans[int(0.99 * (len(spans) - 1))]:.1f}")
        print(f"after {prog} runs={len(spans)} median_us={median(x[1] for x in r[prog]):.1f}")
        print(f"start {prog} runs={len(spans)} median_us={median(x[2] for x in r[prog]):.1f}")
    n = min(len(r[a]), len(r[b]))
    for what, f in (("spanpair", lambda x: x[0]), ("afterpair", lambda x: x[1]), ("pathpair", lambda x: x[0] + x[1])):
        m, lo, hi = interval([f(r[b][k]) - f(r[a][k]) for k in range(n)])
        print(f"{what} {a} {b} runs={n} diff_median_us={m:.1f} diff_lo_us={lo:.1f} diff_hi_us={hi:.1f}")


if __name__ == "__main__":
    main()
