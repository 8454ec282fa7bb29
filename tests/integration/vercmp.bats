#!/usr/bin/env bats
# `patchgate vercmp` against the real thing: Debian's dpkg
# (`dpkg --compare-versions`) and rpm's own EVR comparison (python3-rpm's
# rpm.ver, the C library behind `rpm`).  Thousands of version pairs are
# generated deterministically from a seed (PATCHGATE_VERCMP_SEED, default
# 20261122) and every answer must agree.  apk has no reference binary in
# Debian; apk-tools' own vectors cover it in tests/unit/test_version.c.
#
# patchgate is stricter than `dpkg --compare-versions` in one documented way:
# characters dpkg only warns about there (and refuses when building or
# installing a package) make patchgate refuse the version.  The reference
# side of this test takes that from dpkg's own warnings, so no rule is
# re-implemented here.
#
# A missing dpkg or python3-rpm fails the test: it never skips.

setup_file() {
  PG_BUILD=${PATCHGATE_BUILD:-$PWD/build}
  PG_SRC=${PATCHGATE_SRC:-$PWD}
  PG_CLI=$PG_BUILD/patchgate
  export PG_BUILD PG_SRC PG_CLI
  export PG_SEED=${PATCHGATE_VERCMP_SEED:-20261122}

  # python3-rpm installs into Debian's python, not into any other python3
  # first on PATH.
  PG_PY=
  for p in /usr/bin/python3 python3; do
    if "$p" -c 'import rpm' 2>/dev/null; then
      PG_PY=$p
      break
    fi
  done
  export PG_PY
  export PG_DRIVER=$BATS_FILE_TMPDIR/vercmp_diff.py
  write_driver >"$PG_DRIVER"
}

setup() {
  [ -x "$PG_CLI" ] || fail "$PG_CLI is missing: run make (PATCHGATE_BUILD=$PG_BUILD)"
  command -v dpkg >/dev/null || fail "dpkg is missing (make deps installs it)"
  [ -n "$PG_PY" ] || fail "no python3 with the rpm module: install python3-rpm (make deps)"
}

fail() {
  echo "FAIL: $*" >&2
  return 1
}

# One TAP comment line for the report.
note() {
  echo "# $*" >&3
}

write_driver() {
  cat <<'PY'
"""Differential driver: generate version pairs, ask patchgate (batch mode)
and the reference (dpkg or rpm), print every disagreement."""
import concurrent.futures
import os
import random
import re
import subprocess
import sys
import time

CLI = os.environ["PG_CLI"]


def patchgate(scheme, pairs):
    data = "".join("%s %s\n" % p for p in pairs)
    out = subprocess.run([CLI, "vercmp", "--batch", scheme], input=data, capture_output=True, text=True)
    lines = out.stdout.splitlines()
    if len(lines) != len(pairs):
        sys.exit("patchgate --batch gave %d lines for %d pairs (exit %d): %s"
                 % (len(lines), len(pairs), out.returncode, out.stderr))
    return ["error" if l.startswith("error:") else l for l in lines], lines


# --- dpkg -------------------------------------------------------------------

WARN = re.compile(r"version '(.*)' has bad syntax: (.*)")


def dpkg_call(a, op, b):
    p = subprocess.run(["dpkg", "--compare-versions", "--", a, op, b], capture_output=True, text=True)
    return p.returncode, WARN.findall(p.stderr)


def dpkg_bad_chars(v):
    """dpkg stops checking a version at its first warning; for one whose
    upstream part does not start with a digit, ask again with a digit in
    front to learn whether dpkg also finds an invalid character."""
    colon = v.find(":")
    probe = v[:colon + 1] + "0" + v[colon + 1:] if colon >= 0 else "0" + v
    _, warns = dpkg_call(probe, "eq", "0")
    return any("invalid character" in why for _, why in warns)


def dpkg_ref(pair):
    a, b = pair
    rc, warns = dpkg_call(a, "lt", b)
    if rc == 2:
        return "error"
    for v, why in warns:
        if "invalid character" in why:
            return "error"
        if "does not start with digit" in why and dpkg_bad_chars(v):
            return "error"
    if rc == 0:
        return "<"
    rc, _ = dpkg_call(a, "eq", b)
    return "=" if rc == 0 else ">"


def dpkg_refs(pairs):
    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 1)) as ex:
        return list(ex.map(dpkg_ref, pairs, chunksize=64))


# --- rpm --------------------------------------------------------------------

def rpm_refs(pairs):
    import rpm
    out = []
    for a, b in pairs:
        x, y = rpm.ver(a), rpm.ver(b)
        out.append("<" if x < y else "=" if x == y else ">")
    return out


# --- generators -------------------------------------------------------------

def number(rng):
    k = rng.random()
    if k < 0.5:
        n = str(rng.choice([0, 1, 2, 3, 9, 10, 11, 99, 100]))
    elif k < 0.8:
        n = str(rng.randint(0, 10 ** rng.randint(1, 9)))
    elif k < 0.93:
        n = "0" * rng.randint(1, 3) + str(rng.randint(0, 20))
    else:  # far past 64 bits
        n = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(rng.randint(18, 45)))
    return n


def word(rng, letters):
    return "".join(rng.choice(letters) for _ in range(rng.randint(1, 4)))


def part(rng, seps, letters, invalid="", pieces=(1, 7)):
    out = []
    for _ in range(rng.randint(*pieces)):
        k = rng.random()
        if k < 0.42:
            out.append(number(rng))
        elif k < 0.62:
            out.append(word(rng, letters))
        elif k < 0.992 or not invalid:
            out.append(rng.choice(seps))
        else:
            out.append(rng.choice(invalid))
    return "".join(out)


DPKG_LETTERS = "abcxyzABZ"
DPKG_SEPS = "........++~~~-"
GOOD_EPOCHS = ["0", "1", "2", "10", "01", "00", "+1", "-0", "2147483647"]
BAD_EPOCHS = ["", "a", "-1", "2147483648", "99999999999999999999"]


def dpkg_version(rng):
    # Mostly valid versions, with some of every kind dpkg refuses or warns
    # about: bad epochs, stray ':', empty parts, invalid characters.
    v = ""
    k = rng.random()
    if k < 0.25:
        v += rng.choice(GOOD_EPOCHS) + ":"
    elif k < 0.27:
        v += rng.choice(BAD_EPOCHS) + ":"
    up = part(rng, DPKG_SEPS + (":" if v else ""), DPKG_LETTERS, invalid="^_#@")
    if rng.random() < 0.8 and up and not up[0].isdigit():
        up = number(rng) + up
    if rng.random() < 0.97:
        up = up.strip("-")
    v += up
    if rng.random() < 0.55:
        v += "-" + part(rng, "....++~~", DPKG_LETTERS, invalid="^_:", pieces=(0 if rng.random() < 0.03 else 1, 4))
    return v


RPM_LETTERS = "abcgitxyzABZ"
RPM_SEPS = "....__++~~^^"


def rpm_version(rng):
    # Only EVRs that patchgate must accept: a digit epoch, a non-empty
    # version, a non-empty release after the last '-'.
    v = ""
    if rng.random() < 0.3:
        v += rng.choice(["0", "1", "2", "10", "01", "00", number(rng)]) + ":"
    v += part(rng, RPM_SEPS + "-", RPM_LETTERS).strip("-") or "1"
    if v.endswith(":"):
        v += "1"
    if rng.random() < 0.6:
        v += "-" + (part(rng, RPM_SEPS, RPM_LETTERS, pieces=(1, 4)) or "1")
    return v


def mutate(rng, v, alphabet):
    k = rng.random()
    i = rng.randrange(len(v) + 1)
    if k < 0.25 and v:
        return v[:max(i - 1, 0)] + rng.choice(alphabet) + v[i:]
    if k < 0.45:
        return v[:i] + rng.choice(alphabet) + v[i:]
    if k < 0.6 and v:
        return v[:max(i - 1, 0)] + v[i:]
    if k < 0.75:
        return v + rng.choice(["~", "~rc1", "^", "^git1", "+b1", ".0", "0", "a", ".1", "-1", "_1"])
    if k < 0.88:
        return re.sub(r"\d+", lambda m: str(int(m.group()) + rng.choice([-1, 0, 1]) if m.group() != "0" else 1), v, count=1)
    return v


def make_pairs(rng, n, gen, alphabet, valid=None):
    pairs = []
    while len(pairs) < n:
        a = gen(rng)
        k = rng.random()
        if k < 0.05:
            b = a
        elif k < 0.55:
            b = mutate(rng, a, alphabet)
        else:
            b = gen(rng)
        if " " in a + b or not a or not b:
            continue
        if valid and not (valid(a) and valid(b)):
            continue
        pairs.append((a, b))
    return pairs


def rpm_valid(v):
    # The generator's contract, not patchgate's rule: mutations may break it.
    m = re.fullmatch(r"(?:(\d+):)?([A-Za-z0-9._+~^-]+?)(?:-([A-Za-z0-9._+~^]+))?", v)
    return bool(m) and not v.endswith("-") and bool(m.group(2)) and not m.group(2).startswith("-") \
        and ":" not in (m.group(2) or "")


def report(scheme, pairs, got, raw, ref, started):
    bad = [(p, g, r, w) for p, g, r, w in zip(pairs, got, ref, raw) if g != r]
    for (a, b), g, r, w in bad[:60]:
        print("DISAGREE %s: %r vs %r: patchgate %s, %s %s" % (scheme, a, b, w, scheme, r))
    counts = {k: ref.count(k) for k in ("<", "=", ">", "error")}
    print("%s: %d pairs (seed %s): %d disagreements; reference %s; %.1fs"
          % (scheme, len(pairs), os.environ.get("PG_SEED"), len(bad), counts, time.time() - started))
    return 1 if bad else 0


def data_file_pairs(path):
    pairs, expect = [], []
    for line in open(path, encoding="utf-8"):
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        f = line.split()
        if len(f) == 3:
            pairs.append((f[0], f[2]))
            expect.append(f[1])
    return pairs, expect


def main():
    mode, scheme = sys.argv[1], sys.argv[2]
    started = time.time()
    if mode == "random":
        rng = random.Random("%s-%s" % (os.environ.get("PG_SEED"), scheme))
        n = int(sys.argv[3])
        if scheme == "dpkg":
            pairs = make_pairs(rng, n, dpkg_version, DPKG_SEPS + DPKG_LETTERS + "0123456789")
        else:
            pairs = make_pairs(rng, n, rpm_version, RPM_SEPS + RPM_LETTERS + "0123456789-", rpm_valid)
    else:  # the comparison lines of a data file
        pairs, expect = data_file_pairs(sys.argv[3])
    got, raw = patchgate(scheme, pairs)
    ref = dpkg_refs(pairs) if scheme == "dpkg" else rpm_refs(pairs)
    rc = report(scheme, pairs, got, raw, ref, started)
    if mode != "random":
        for (a, b), e, r in zip(pairs, expect, ref):
            if e != r:
                print("DATA FILE WRONG: %s %s %s, but %s says %s" % (a, e, b, scheme, r))
                rc = 1
    sys.exit(rc)


main()
PY
}

run_driver() {
  run "$PG_PY" "$PG_DRIVER" "$@"
  echo "$output"
  note "$(echo "$output" | tail -n 1)"
  [ "$status" -eq 0 ] || fail "patchgate and the reference disagree (exit $status)"
}

@test "vercmp prints <, = or > and exits 0" {
  run "$PG_CLI" vercmp dpkg 7.88.1-10+deb12u4 7.88.1-10+deb12u5
  [ "$status" -eq 0 ] && [ "$output" = "<" ] || fail "dpkg: exit $status, '$output'"
  run "$PG_CLI" vercmp dpkg 1:1.2.13.dfsg-1 1.2.13.dfsg-3
  [ "$status" -eq 0 ] && [ "$output" = ">" ] || fail "dpkg epoch: exit $status, '$output'"
  run "$PG_CLI" vercmp dpkg 1.27.5-1~bookworm 1.27.5-1~bookworm
  [ "$status" -eq 0 ] && [ "$output" = "=" ] || fail "dpkg equal: exit $status, '$output'"
  run "$PG_CLI" vercmp rpm 1:1.1.1k-4.el8 1:1.1.1k-5.el8_5
  [ "$status" -eq 0 ] && [ "$output" = "<" ] || fail "rpm: exit $status, '$output'"
  run "$PG_CLI" vercmp apk 1.2.3_rc1-r0 1.2.3-r0
  [ "$status" -eq 0 ] && [ "$output" = "<" ] || fail "apk: exit $status, '$output'"
}

@test "vercmp --help documents usage and the batch mode" {
  run "$PG_CLI" vercmp --help
  [ "$status" -eq 0 ] || fail "exit $status"
  [[ $output == *"patchgate vercmp dpkg|rpm|apk A B"* ]] || fail "no usage line: $output"
  [[ $output == *"--batch"* ]] || fail "--batch undocumented: $output"
}

@test "vercmp refuses wrong usage and malformed versions with exit 2" {
  run "$PG_CLI" vercmp dpkg 1.0
  [ "$status" -eq 2 ] && [[ $output == patchgate:* ]] || fail "missing B: exit $status, '$output'"
  run "$PG_CLI" vercmp deb 1.0 2.0
  [ "$status" -eq 2 ] && [[ $output == "patchgate: "*"'deb'"* ]] || fail "bad scheme: exit $status, '$output'"
  run "$PG_CLI" vercmp --frobnicate
  [ "$status" -eq 2 ] || fail "bad option: exit $status"
  run "$PG_CLI" vercmp dpkg "1.0 1" 2.0
  [ "$status" -eq 2 ] && [[ $output == "patchgate: invalid dpkg version '1.0 1': "*"embedded spaces"* ]] ||
    fail "embedded space: exit $status, '$output'"
  run "$PG_CLI" vercmp dpkg -0.6.5 1
  [ "$status" -eq 2 ] && [[ $output == *"version number is empty"* ]] || fail "empty upstream: exit $status, '$output'"
  run "$PG_CLI" vercmp rpm 1.0- 1.0
  [ "$status" -eq 2 ] && [[ $output == *"release is empty"* ]] || fail "rpm: exit $status, '$output'"
  run "$PG_CLI" vercmp apk 1.0-1 1.0
  [ "$status" -eq 2 ] && [[ $output == "patchgate: invalid apk version '1.0-1'"* ]] || fail "apk: exit $status, '$output'"
  # Nothing on stdout when refusing: scripts read stdout as the answer.
  out=$("$PG_CLI" vercmp apk 1.0-1 1.0 2>/dev/null) || true
  [ -z "$out" ] || fail "stdout not empty on error: '$out'"
}

@test "vercmp --batch answers each line, errors included" {
  run "$PG_CLI" vercmp --batch dpkg <<'EOF'
1.0 2.0
1:0 0
1.0~rc1 1.0~rc1
1.0#1 1.0
only-one
EOF
  [ "$status" -eq 2 ] || fail "exit $status, expected 2 for the malformed lines"
  [ "${lines[0]}" = "<" ] && [ "${lines[1]}" = ">" ] && [ "${lines[2]}" = "=" ] || fail "answers: $output"
  [[ ${lines[3]} == "error: invalid dpkg version '1.0#1'"* ]] || fail "line 4: ${lines[3]}"
  [[ ${lines[4]} == "error: "* ]] || fail "line 5: ${lines[4]}"
  [ "${#lines[@]}" -eq 5 ] || fail "expected 5 answers: $output"
}

@test "dpkg.data vectors agree with dpkg --compare-versions" {
  run_driver data dpkg "$PG_SRC/tests/unit/data/versions/dpkg.data"
}

@test "rpm.data vectors agree with rpm" {
  run_driver data rpm "$PG_SRC/tests/unit/data/versions/rpm.data"
}

@test "random version pairs: patchgate agrees with dpkg --compare-versions" {
  run_driver random dpkg 4000
}

@test "random version pairs: patchgate agrees with rpm" {
  run_driver random rpm 30000
}
