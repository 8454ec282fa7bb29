#!/usr/bin/env bats
# CI smoke run of the libFuzzer harnesses (tests/fuzz/, built by make check
# into build/fuzz/): each runs a few seconds from its seed corpus; a crash,
# a leak or a timeout fails.  `make fuzz FUZZ_TIME=...` runs longer.

load helpers

setup_file() {
  pg_set_binaries
  export PG_FUZZ_DIR=$PG_SRC/build/fuzz
}

@test "fuzz: every harness has a seed corpus and a binary" {
  local f name
  for f in "$PG_SRC"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$f" .c)
    [ -x "$PG_FUZZ_DIR/$name" ] || pg_fail "$PG_FUZZ_DIR/$name is missing: make check builds it" || return 1
    [ -n "$(ls -A "$PG_SRC/tests/fuzz/corpus/$name" 2>/dev/null)" ] || pg_fail "no seeds in tests/fuzz/corpus/$name" || return 1
  done
}

@test "fuzz: every harness runs ${PATCHGATE_FUZZ_SMOKE_TIME:-8} s from its corpus without a crash" {
  local bins
  bins=$(find "$PG_FUZZ_DIR" -maxdepth 1 -name 'fuzz_*' -type f -perm -u+x | sort)
  [ -n "$bins" ] || pg_fail "no harness in $PG_FUZZ_DIR"
  # shellcheck disable=SC2086
  run env FUZZ_TIME="${PATCHGATE_FUZZ_SMOKE_TIME:-8}" FUZZ_JOBS=2 "$PG_SRC/tests/fuzz/run.sh" $bins
  echo "$output"
  [ "$status" -eq 0 ] || pg_fail "a harness failed: $output"
}
