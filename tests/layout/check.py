#!/usr/bin/env python3
"""The layout check that `make check` runs (TAP on stdout).

Derived from the #include lines of policy/, hook/ and cli/:
1. the library (policy/) includes no header of a program (hook/, cli/);
2. a program includes no header of the other program;
3. the include graph has no cycle, where a module is a .c file and the .h
   of the same name beside it (so "a.c includes b.h, b.c includes a.h" is
   the circle it is).
"""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INCLUDE_DIRS = {"policy": ["policy"], "hook": ["policy", "hook"], "cli": ["policy", "cli"]}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources():
    for top in INCLUDE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), ROOT)


def resolve(src, name):
    """Where the compiler finds a quoted include: beside the file, then -I."""
    top = src.split(os.sep)[0]
    for d in [os.path.dirname(src)] + INCLUDE_DIRS[top]:
        cand = os.path.normpath(os.path.join(d, name))
        if os.path.exists(os.path.join(ROOT, cand)):
            return cand
    return None


def module(path):
    return os.path.splitext(path)[0]


def find_cycle(graph):
    """One cycle of GRAPH as a list of nodes, or None (iterative DFS)."""
    color = {}
    for start in sorted(graph):
        if color.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        color[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                color[node] = 2
                stack.pop()
                path.pop()
                continue
            if color.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if not color.get(nxt):
                color[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
    return None


def main():
    problems_lib, problems_prog, unresolved = [], [], []
    graph = {}
    for src in sources():
        text = open(os.path.join(ROOT, src), encoding="utf-8", errors="replace").read()
        top = src.split(os.sep)[0]
        graph.setdefault(module(src), set())
        for name in INCLUDE.findall(text):
            dst = resolve(src, name)
            if dst is None:
                unresolved.append("%s includes \"%s\", found nowhere" % (src, name))
                continue
            dtop = dst.split(os.sep)[0]
            if top == "policy" and dtop != "policy":
                problems_lib.append("%s (library) includes %s (a program's)" % (src, dst))
            if top != "policy" and dtop not in ("policy", top):
                problems_prog.append("%s includes %s (another program's)" % (src, dst))
            if module(dst) != module(src):
                graph[module(src)].add(module(dst))
    cycle = find_cycle(graph)
    checks = [
        ("every quoted include resolves", unresolved),
        ("the library includes no program's header", problems_lib),
        ("no program includes another program's header", problems_prog),
        ("the include graph has no cycle", [" -> ".join(cycle)] if cycle else []),
    ]
    print("1..%d" % len(checks))
    failed = 0
    for i, (name, problems) in enumerate(checks, 1):
        if problems:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for p in problems:
                print("# %s" % p)
        else:
            print("ok %d - %s" % (i, name))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
