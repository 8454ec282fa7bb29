#!/usr/bin/env bats
# The hook under valgrind (memcheck, full leak check) on real states:
# allowed, denied, unidentified, a missing database, a bad state, a bundle
# with a planted symlink.  Any memory error or leak makes valgrind exit 99.
#
# valgrind cannot emulate seccomp(2): the real hook, which refuses to
# decide unsandboxed, is checked to refuse cleanly under it, and the
# decision path runs in build/.../tests/patchgate-hook-valgrind, the same
# hook/main.c built with PG_HOOK_NO_SECCOMP (Makefile).  valgrind also
# lacks openat2(2), so the fallback walk of base/safe_open.c runs here.
# An ASan build (make check SANITIZE=1) cannot run under valgrind: ASan
# checks it instead, and these tests say so and pass.

load helpers

setup_file() {
  pg_require valgrind || return 1
  pg_setup_file || return 1
}

setup() {
  pg_setup
  if nm -D "$PG_HOOK_BIN" 2>/dev/null | grep -q __asan_init || nm "$PG_HOOK_BIN" 2>/dev/null | grep -q __asan_init; then
    skip "ASan build: AddressSanitizer checks the hook in this run, valgrind cannot"
  fi
  PG_VG_HOOK=$PG_BUILD/tests/patchgate-hook-valgrind
  [ -x "$PG_VG_HOOK" ] || pg_fail "$PG_VG_HOOK is missing: make check builds it"
}

teardown() {
  pg_teardown
}

# vg BIN STATE [CONFIG] : BIN under valgrind; $status is the hook's, or 99.
vg() {
  run timeout 120 env PATCHGATE_NOW="$PG_NOW" valgrind -q --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    "$1" --config "${3:-$PG_HOOK_CONFIG}" <"$2"
}

@test "valgrind: the real hook refuses without seccomp (exit 2), with no memory error" {
  pg_db_scanned 1
  local b dyn=$PG_BUILD/tests/patchgate-hook-dynamic
  [ -x "$dyn" ] || pg_fail "$dyn is missing: make check builds it" || return 1
  b=$(make_bundle vg-real 1)
  pg_state_json vg-real "$b" >"$BATS_TEST_TMPDIR/s.json"
  # The hook's objects linked dynamically: memcheck cannot follow the
  # static glibc of the installed hook (Makefile, DYNAMIC_HOOK).
  vg "$dyn" "$BATS_TEST_TMPDIR/s.json"
  [ "$status" -eq 2 ] || pg_fail "exit $status (99: valgrind found errors): $output"
  assert_output_contains "sandbox: loading the seccomp filter"
  # The installed hook itself refuses too (no memory check: see above).
  run timeout 120 env PATCHGATE_NOW="$PG_NOW" valgrind -q --tool=none "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" \
    <"$BATS_TEST_TMPDIR/s.json"
  [ "$status" -eq 2 ] || pg_fail "the installed hook under valgrind: exit $status: $output"
  assert_output_contains "sandbox: loading the seccomp filter"
}

@test "valgrind: allowed, denied, unidentified, errors and planted links run clean" {
  pg_db_scanned 1
  local b s=$BATS_TEST_TMPDIR
  b=$(make_bundle vg-ok 1)
  pg_state_json vg-ok "$b" >"$s/ok.json"
  b=$(make_bundle vg-bad 2)
  pg_state_json vg-bad "$b" >"$s/bad.json"
  b=$(make_bundle vg-unid 1)
  rm -f "$b/umoci.json"
  pg_state_json vg-unid "$b" >"$s/unid.json"
  b=$(make_bundle vg-link 1)
  mv "$b/umoci.json" "$s/host-umoci.json"
  ln -s "$s/host-umoci.json" "$b/umoci.json"
  pg_state_json vg-link "$b" >"$s/link.json"
  echo '{"id": "x", "bundle": "relative"}' >"$s/garbage.json"
  pg_hook_config "$s/none.db" >"$s/nodb.json"

  local -a cases=("ok.json 0" "bad.json 1" "unid.json 1" "link.json 2" "garbage.json 2")
  local c
  for c in "${cases[@]}"; do
    vg "$PG_VG_HOOK" "$s/${c% *}"
    [ "$status" -eq "${c#* }" ] || pg_fail "${c% *}: exit $status, expected ${c#* } (99: valgrind errors): $output" || return 1
  done
  vg "$PG_VG_HOOK" "$s/ok.json" "$s/nodb.json"
  [ "$status" -eq 2 ] || pg_fail "missing database: exit $status: $output"
}

@test "valgrind: with metrics on (counting, publishing the textfile, a refused counters file) the hook runs clean" {
  pg_db_scanned 1
  local b s=$BATS_TEST_TMPDIR
  b=$(make_bundle vg-m-ok 1)
  pg_state_json vg-m-ok "$b" >"$s/ok.json"
  b=$(make_bundle vg-m-bad 2)
  pg_state_json vg-m-bad "$b" >"$s/bad.json"
  echo '{"id": "x", "bundle": "relative"}' >"$s/garbage.json"
  mkdir -m 0755 "$s/textfile"
  pg_hook_config "$PG_DB" | jq --arg t "$s/textfile/patchgate.prom" --arg c "$s/metrics.counters" \
    '.metrics_textfile = $t | .metrics_counters = $c | .metrics_interval = "0s"' >"$s/metrics.json"
  local -a cases=("ok.json 0" "bad.json 1" "garbage.json 2")
  local c
  for c in "${cases[@]}"; do
    vg "$PG_VG_HOOK" "$s/${c% *}" "$s/metrics.json"
    [ "$status" -eq "${c#* }" ] || pg_fail "${c% *}: exit $status, expected ${c#* } (99: valgrind errors): $output" || return 1
  done
  grep -q 'patchgate_decisions_total{decision="deny"} 2' "$s/textfile/patchgate.prom" ||
    pg_fail "not counted: $(cat "$s/textfile/patchgate.prom")"
  # A counters file the hook refuses: logged, nothing leaks.
  chmod 0666 "$s/metrics.counters"
  vg "$PG_VG_HOOK" "$s/ok.json" "$s/metrics.json"
  [ "$status" -eq 0 ] || pg_fail "refused counters file: exit $status: $output"
}
