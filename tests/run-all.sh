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
failures=()

count_tap() { # name, tap file
  local p f
  p=$(grep -c '^ok ' "$2")
  f=$(grep -c '^not ok ' "$2")
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$f" -gt 0 ]; then
    failures+=("$1")
  fi
}

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

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
  name=$(basename "$b")
  echo "== integration: $name"
  unshare -m --propagation private bats --tap "$b" >"$log/$name.tap" 2>&1
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
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
