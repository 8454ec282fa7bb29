#!/bin/bash
# Runs every unit test (cmocka, TAP output) and every integration test (bats,
# each file in a private mount namespace so its mounts never leak to the
# host), and ends with the one line CI reads: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export PATCHGATE_BUILD="$PWD/$BUILD"
export PATCHGATE_SRC="$PWD"
passed=0
failed=0
skipped=0
failures=()

count_tap() { # name, tap file
  local p f s
  p=$(grep -c '^ok ' "$2")
  s=$(grep -ci '^ok .*# skip' "$2")
  f=$(grep -c '^not ok ' "$2")
  passed=$((passed + p - s))
  skipped=$((skipped + s))
  failed=$((failed + f))
  if [ "$f" -gt 0 ]; then
    failures+=("$1")
  fi
}

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

echo "== layout: tests/layout/check.py"
python3 tests/layout/check.py >"$log/layout.tap" 2>&1
cat "$log/layout.tap"
count_tap layout "$log/layout.tap"

for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  echo "== unit: $name"
  CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log/$name.tap" 2>"$log/$name.err"
  rc=$?
  cat "$log/$name.tap"
  count_tap "$name" "$log/$name.tap"
  if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log/$name.tap"; then
    # A crash (sanitizer, signal) before TAP could report it.
    cat "$log/$name.err"
    failed=$((failed + 1))
    failures+=("$name (exit $rc)")
  elif [ $rc -ne 0 ]; then
    cat "$log/$name.err"
  fi
done

for b in ${PATCHGATE_BATS:-tests/integration/*.bats}; do
  [ -f "$b" ] || continue
  # valgrind cannot run an ASan build; the normal run covers it.
  if [ "$(basename "$b")" = valgrind.bats ] && nm "$BUILD/patchgate-hook" 2>/dev/null | grep -q __asan_init; then
    echo "== integration: $(basename "$b") belongs to the run without sanitizers; not scheduled"
    continue
  fi
  name=$(basename "$b")
  echo "== integration: $name"
  # Integration files start host-wide daemons (dockerd, containerd, podman's
  # storage): two checkouts testing on one machine take turns.
  flock /tmp/pg-bats.lock unshare -m --propagation private bats --tap "$b" >"$log/$name.tap" 2>&1
  rc=$?
  cat "$log/$name.tap"
  count_tap "$name" "$log/$name.tap"
  if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log/$name.tap"; then
    failed=$((failed + 1))
    failures+=("$name (exit $rc)")
  fi
done

if [ ${#failures[@]} -gt 0 ]; then
  echo "failing: ${failures[*]}"
fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
  echo "CI=true: $skipped skipped tests; in CI every test must run" >&2
  exit 1
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
