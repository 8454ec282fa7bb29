#!/usr/bin/env bats
# Faults: the hook keeps deciding, fails closed and loses nothing.  A bad
# database, a locked one (nothing to the hook), one replaced under it, a
# policy newer than the binary, syslog gone or full, a missing or broken
# config, its own deadline, a full disk during import, and 200 hooks racing
# 50 policy changes.  Killed writers and other users' locks are in
# host_trust.bats.  Everything that mounts does so in this file's private
# mount namespace (tests/run-all.sh).

load helpers

setup_file() {
  pg_setup_file syslog || return 1
}

teardown_file() {
  pg_teardown_file
}

setup() {
  pg_setup
}

teardown() {
  pg_teardown
}

# hook STATE [CONFIG] : the hook, stdout and stderr in $output, its run
# time in $elapsed_ms.
hook() {
  local t0 t1
  t0=$(date +%s%N)
  run timeout 30 env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "${2:-$PG_HOOK_CONFIG}" <"$1"
  t1=$(date +%s%N)
  elapsed_ms=$(((t1 - t0) / 1000000))
}

# ok_state : a bundle of the scanned image 1 and its state; prints the path.
ok_state() {
  local b
  b=$(make_bundle "${1:-ok}" 1) || return 1
  pg_state_json "${1:-ok}" "$b" >"$BATS_TEST_TMPDIR/state-${1:-ok}.json"
  echo "$BATS_TEST_TMPDIR/state-${1:-ok}.json"
}

# with_db DB : a hook config using DB; prints its path.
with_db() {
  pg_hook_config "$1" "${2:-.}" >"$BATS_TEST_TMPDIR/hook-$(basename "$1").json"
  echo "$BATS_TEST_TMPDIR/hook-$(basename "$1").json"
}

# set_format FILE N : an index whose trailer says format N (checksum fixed).
set_format() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
path, fmt = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
# The trailer is the file's last bytes and starts with its magic.
t = data.rfind(b"PGINDEX\n")
struct.pack_into("<I", data, t + 8, fmt)
h = 0xcbf29ce484222325
for b in data[t:len(data) - 8]:
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
struct.pack_into("<Q", data, len(data) - 8, h)
open(path, "wb").write(bytes(data))
PY
}

@test "faults: a missing, empty, truncated, foreign, other-format or stale index, or no database, refuses (exit 2)" {
  pg_db_scanned 1
  local state d idx=${PG_DB%.db}.idx size name
  state=$(ok_state)
  hook "$state"
  [ "$status" -eq 0 ] || pg_fail "control: exit $status: $output"
  d=$BATS_TEST_TMPDIR/idx
  mkdir -p "$d"
  size=$(stat -c %s "$idx")
  : >"$d/empty.idx"
  head -c $((size / 2)) "$idx" >"$d/truncated.idx"
  head -c $((size - 1)) "$idx" >"$d/short.idx"
  cp "$idx" "$d/longer.idx"
  printf 'x' >>"$d/longer.idx"
  cp "$PG_DB" "$d/foreign.idx"
  cp "$idx" "$d/format.idx"
  set_format "$d/format.idx" 99

  local -A want=(
    [missing.idx]="policy index .*missing.idx is missing"
    [empty.idx]="empty.idx is truncated or not a patchgate index"
    [truncated.idx]="truncated.idx is truncated or not a patchgate index"
    [short.idx]="short.idx is truncated or not a patchgate index"
    [longer.idx]="longer.idx is truncated or not a patchgate index"
    [foreign.idx]="foreign.idx is truncated or not a patchgate index"
    [format.idx]="format.idx has format 99; this patchgate reads format"
  )
  for name in "${!want[@]}"; do
    hook "$state" "$(with_db "$PG_DB" ".policy_index = \"$d/$name\"")"
    [ "$status" -eq 2 ] || pg_fail "$name: exit $status: $output" || return 1
    [[ $output =~ ${want[$name]} ]] || pg_fail "$name: no /${want[$name]}/ in: $output" || return 1
    assert_output_contains "patchgate: refused container ok: internal error"
  done
  # The hook never wrote to any of them (read-only opens).
  [ ! -e "$d/missing.idx" ] || pg_fail "the hook created missing.idx"
  [ "$(stat -c %s "$d/empty.idx")" -eq 0 ] || pg_fail "the hook wrote to empty.idx"

  # The database the index was compiled from is gone.
  hook "$state" "$(with_db "$d/missing.db" ".policy_index = \"$idx\"")"
  [ "$status" -eq 2 ] || pg_fail "no database: exit $status: $output"
  assert_output_contains "policy index $idx: its policy database $d/missing.db"

  # Changed behind patchgate's back and never recompiled: stale once
  # index_max_lag has passed since the change; the previous index decides
  # until then.
  sqlite3 "$PG_DB" "UPDATE images SET created = created - 1"
  hook "$state"
  [ "$status" -eq 0 ] || pg_fail "within index_max_lag: exit $status: $output"
  sleep 2.1
  hook "$state" "$(with_db "$PG_DB" '.index_max_lag = "1s"')"
  [ "$status" -eq 2 ] || pg_fail "stale: exit $status: $output"
  assert_output_contains "policy index $idx is stale: the policy database $PG_DB changed"
  wait_decision ok
  assert_log reasons POLICY_ERROR
  "$PG_CLI" index build --db "$PG_DB" >/dev/null
  hook "$state" "$(with_db "$PG_DB" '.index_max_lag = "1s"')"
  [ "$status" -eq 0 ] || pg_fail "recompiled: exit $status: $output"
}

# lock_db DB SECONDS : a writer holding an exclusive lock on DB; waits until
# it holds it.  Sets lock_pid.
lock_db() {
  python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))' "$1" "$2" >"$BATS_TEST_TMPDIR/lock.out" 2>&1 3>&- &
  lock_pid=$!
  local i
  for i in $(seq 50); do
    grep -q locked "$BATS_TEST_TMPDIR/lock.out" 2>/dev/null && return 0
    sleep 0.1
  done
  pg_fail "the writer never took the lock: $(cat "$BATS_TEST_TMPDIR/lock.out")"
}

@test "faults: a process holding SQLite's exclusive lock on the database stops neither the hook nor status" {
  pg_db_scanned 1
  local state
  state=$(ok_state)
  # The hook never opens the database, and in WAL mode a writer's lock,
  # even an exclusive transaction's, stops no reader: the lock holder is
  # nothing to either.
  lock_db "$PG_DB" 20
  hook "$state"
  local s1=$status o1=$output e1=$elapsed_ms
  run "$PG_CLI" status --db "$PG_DB"
  kill "$lock_pid" 2>/dev/null
  wait "$lock_pid" 2>/dev/null || true
  [ "$s1" -eq 0 ] || pg_fail "the hook under the lock: exit $s1: $o1"
  [ "$e1" -lt 3000 ] || pg_fail "the hook under the lock took $e1 ms"
  [ "$status" -eq 0 ] || pg_fail "status under the lock: exit $status: $output"
}

@test "faults: the deadline covers a runtime that never closes stdin; on_error allow is honoured there" {
  pg_db_scanned 1
  local t0 t1 cfg
  cfg=$(with_db "$PG_DB" '.timeout = "1s"')
  t0=$(date +%s%N)
  run bash -c 'env PATCHGATE_NOW="$1" timeout 20 "$2" --config "$3" < <(exec sleep 30 2>/dev/null 3>&-)' _ "$PG_NOW" "$PG_HOOK_BIN" "$cfg"
  t1=$(date +%s%N)
  [ "$status" -eq 2 ] || pg_fail "exit $status: $output"
  assert_output_contains "deadline of 1000 ms passed"
  assert_output_contains "patchgate: refused container ?"
  [ $(((t1 - t0) / 1000000)) -lt 4000 ] || pg_fail "took $(((t1 - t0) / 1000000)) ms"
  wait_syslog "patchgate-hook(\[[0-9]+\])?: .*deadline of 1000 ms" >/dev/null
  assert_log decision deny
  assert_log reasons POLICY_ERROR
  assert_log on_error deny

  # on_error allow is honoured at the deadline too (the admin's choice).
  cfg=$(with_db "$PG_DB" '.timeout = 1 | .on_error = "allow"')
  run bash -c 'env PATCHGATE_NOW="$1" timeout 20 "$2" --config "$3" < <(exec sleep 30 2>/dev/null 3>&-)' _ "$PG_NOW" "$PG_HOOK_BIN" "$cfg"
  [ "$status" -eq 0 ] || pg_fail "on_error allow at the deadline: exit $status: $output"
  assert_output_contains "despite an error (on_error: allow)"
}

@test "faults: at the default deadline the line prepared before the config goes out under the config's facility" {
  pg_db_scanned 1
  local cfg
  # Only the facility differs from what the hook knew before its config:
  # the line is not rendered again but reframed (hook/logsink.c).
  cfg=$(with_db "$PG_DB" '.syslog_facility = "local0"')
  run bash -c 'env PATCHGATE_NOW="$1" timeout 30 "$2" --config "$3" < <(exec sleep 60 2>/dev/null 3>&-)' _ "$PG_NOW" "$PG_HOOK_BIN" "$cfg"
  [ "$status" -eq 2 ] || pg_fail "exit $status: $output"
  assert_output_contains "deadline of 8000 ms passed"
  wait_syslog "patchgate-hook(\[[0-9]+\])?: .*deadline of 8000 ms" >/dev/null
  [[ $syslog_line == local0.* ]] || pg_fail "expected facility local0: $syslog_line"
  assert_log decision deny
}

@test "faults: the index renamed over while hooks read it: every run decides, none errs" {
  pg_db_scanned 1
  local state i rc bad=0 idx=${PG_DB%.db}.idx
  state=$(ok_state)
  cp "$idx" "$BATS_TEST_TMPDIR/copy.idx"
  (
    for i in $(seq 100); do
      cp "$BATS_TEST_TMPDIR/copy.idx" "$idx.new.$i" && mv -f "$idx.new.$i" "$idx"
    done
  ) &
  local mover=$!
  for i in $(seq 60); do
    env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$state" >/dev/null 2>"$BATS_TEST_TMPDIR/err"
    rc=$?
    if [ "$rc" -ne 0 ]; then
      bad=$((bad + 1))
      echo "run $i: exit $rc: $(cat "$BATS_TEST_TMPDIR/err")" >&2
    fi
  done
  wait "$mover"
  [ "$bad" -eq 0 ] || pg_fail "$bad of 60 runs did not allow while the index was replaced"
}

@test "faults: syslog absent: the decision still happens and its line goes to stderr" {
  pg_in_private_mount_ns || pg_fail "needs a private mount namespace" || return 1
  pg_db_scanned 1
  local state bad
  state=$(ok_state)
  bad=$(make_bundle nolog-bad 2)
  pg_state_json nolog-bad "$bad" >"$BATS_TEST_TMPDIR/state-bad.json"
  # Not a socket any more: connect fails.
  : >"$BATS_TEST_TMPDIR/not-a-socket"
  mount --bind "$BATS_TEST_TMPDIR/not-a-socket" /dev/log
  hook "$state"
  local s1=$status o1=$output
  hook "$BATS_TEST_TMPDIR/state-bad.json"
  umount /dev/log
  [ "$s1" -eq 0 ] || pg_fail "allow without syslog: exit $s1: $o1"
  [[ $o1 == *"syslog unavailable"*"decision=allow container=ok "* ]] || pg_fail "no decision line on stderr: $o1"
  [ "$status" -eq 1 ] || pg_fail "deny without syslog: exit $status: $output"
  assert_output_contains "decision=deny container=nolog-bad"
  assert_output_contains "patchgate: refused container nolog-bad"
}

@test "faults: syslog full: the hook does not wait, and the line goes to stderr" {
  pg_in_private_mount_ns || pg_fail "needs a private mount namespace" || return 1
  pg_db_scanned 1
  local state sock=$BATS_TEST_TMPDIR/full.sock
  state=$(ok_state)
  # A receiver that never reads, its queue filled to the brim.
  python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
c.setblocking(False)
n = 0
try:
    while True:
        c.sendto(b"x" * 64, sys.argv[1])
        n += 1
except BlockingIOError:
    pass
print("full", n, flush=True)
time.sleep(60)' "$sock" >"$BATS_TEST_TMPDIR/full.out" 2>&1 3>&- &
  local pypid=$! i
  for i in $(seq 50); do
    grep -q full "$BATS_TEST_TMPDIR/full.out" 2>/dev/null && break
    sleep 0.1
  done
  mount --bind "$sock" /dev/log
  hook "$state"
  umount /dev/log
  kill "$pypid" 2>/dev/null
  wait "$pypid" 2>/dev/null || true
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$elapsed_ms" -lt 3000 ] || pg_fail "the hook waited $elapsed_ms ms on a full syslog"
  assert_output_contains "syslog unavailable (Resource temporarily unavailable)"
  assert_output_contains "decision=allow container=ok"
}

@test "faults: hook config missing (built-in defaults) or invalid (refused, exit 2)" {
  pg_in_private_mount_ns || pg_fail "needs a private mount namespace" || return 1
  pg_db_scanned 1
  local state c=$BATS_TEST_TMPDIR/configs
  state=$(ok_state)
  mkdir -p "$c"
  echo 'this is not json' >"$c/garbage.json"
  echo '{"policy_db": "relative/policy.db"}' >"$c/relative.json"
  echo '{"policy_db": "/x.db", "unknown_key": 1}' >"$c/unknown.json"
  echo '{"on_error": "maybe"}' >"$c/on_error.json"
  echo '{"timeout": "forever"}' >"$c/timeout.json"
  echo '{"syslog_facility": "kern"}' >"$c/facility.json"
  mkdir -p "$c/dir.json"
  local f
  for f in garbage relative unknown on_error timeout facility dir missing; do
    hook "$state" "$c/$f.json"
    [ "$status" -eq 2 ] || pg_fail "config $f: exit $status: $output" || return 1
    assert_output_contains "hook config"
    assert_output_contains "patchgate: refused container ?: internal error"
  done

  # No --config, no PATCHGATE_CONFIG, no /etc/patchgate/hook.json: the
  # built-in defaults, i.e. /var/lib/patchgate/policy.db and the index
  # beside it, /var/lib/patchgate/policy.idx.  Both paths are
  # replaced in this mount namespace only.
  if [ -e /etc/patchgate/hook.json ]; then
    mount -t tmpfs -o mode=0755 patchgate-etc /etc/patchgate
  fi
  if [ -d /var/lib/patchgate ]; then
    mount -t tmpfs -o mode=0700 patchgate-var /var/lib/patchgate
  else
    mkdir -p "$BATS_TEST_TMPDIR/varlib/upper" "$BATS_TEST_TMPDIR/varlib/work"
    mount -t overlay patchgate-var \
      -o "lowerdir=/var/lib,upperdir=$BATS_TEST_TMPDIR/varlib/upper,workdir=$BATS_TEST_TMPDIR/varlib/work" /var/lib
    mkdir -p /var/lib/patchgate
  fi
  run env -u PATCHGATE_CONFIG PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" <"$state"
  local s1=$status o1=$output
  cp "$PG_DB" /var/lib/patchgate/policy.db
  "$PG_CLI" index build >/dev/null
  run env -u PATCHGATE_CONFIG PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" <"$state"
  umount /var/lib/patchgate 2>/dev/null || umount /var/lib
  if mountpoint -q /etc/patchgate 2>/dev/null; then umount /etc/patchgate; fi
  [ "$s1" -eq 2 ] || pg_fail "defaults, no database: exit $s1: $o1"
  [[ $o1 == *"policy index /var/lib/patchgate/policy.idx is missing"* ]] || pg_fail "defaults: not the default index: $o1"
  [ "$status" -eq 0 ] || pg_fail "defaults with the database in place: exit $status: $output"
}

@test "faults: a full disk during import leaves the database unchanged, and the hook still decides from it" {
  pg_in_private_mount_ns || pg_fail "needs a private mount namespace" || return 1
  pg_db_scanned 1
  local dir=$BATS_TEST_TMPDIR/small size before after state
  state=$(ok_state)
  size=$(($(stat -c %s "$PG_DB") + 2 * $(stat -c %s "${PG_DB%.db}.idx")))
  mkdir -p "$dir"
  # Room for the database, its WAL's shared memory (32 KiB), the index
  # twice (the new one is written beside it) and 16 KiB more: not for what
  # the reports below add to the WAL.  Mode 0700: the hook refuses a
  # directory others can write, as a tmpfs's default 1777 is.
  size=$((size + 32768))
  mount -t tmpfs -o mode=0700,size=$(((size / 4096 + 6) * 4))k patchgate-small "$dir"
  cp "$PG_DB" "$dir/policy.db"
  "$PG_CLI" index build --db "$dir/policy.db" >/dev/null
  before=$(sha256sum <"$dir/policy.db")
  run "$PG_CLI" import --db "$dir/policy.db" "$PG_SRC/../shared/testdata/reports/grype/nginx-debian12.json" \
    "$PG_SRC/../shared/testdata/reports/trivy/nginx-debian12.json"
  local s1=$status o1=$output
  after=$(sha256sum <"$dir/policy.db")
  ls -la "$dir" >&2
  local left
  left=$(ls -A "$dir" | grep -v -x -e policy.db -e policy.db.lock -e policy.idx -e policy.idx.lock \
    -e policy.db-wal -e policy.db-shm || true)
  hook "$state" "$(with_db "$dir/policy.db")"
  umount "$dir"
  [ "$s1" -eq 2 ] || pg_fail "import on a full disk: exit $s1: $o1"
  [[ $o1 == *"database or disk is full"* ]] || pg_fail "import: no 'disk is full' in: $o1"
  [ "$before" = "$after" ] || pg_fail "the database changed: $before -> $after"
  [ -z "$left" ] || pg_fail "the failed import left: $left"
  [ "$status" -eq 0 ] || pg_fail "the hook after the failed import: exit $status: $output"
}

# 200 hook runs, 16 at a time, while `patchgate policy set` swaps 50 times
# between two policies that decide the same image differently, each swap
# recompiling the index, and a second writer recompiles it 20 times more.
# Every run must decide (exit 0 or 1, never 2: no hook ever sees a partial
# index), every decision's (policy, verdict) pair must be one policy's,
# never a mix, a reader checking the index's trailer all along never finds
# it cut short, and no temporary index is left behind.
@test "concurrency: 200 hooks while the policy is replaced 50 times: no error, no mixed decision, whole indexes" {
  make_trivy_report 1 "$(pg_days_ago 1)" >"$BATS_TEST_TMPDIR/report.json"
  pg_policy '.version = "conc-A"' >"$BATS_TEST_TMPDIR/A.json"
  pg_policy '.version = "conc-B" | .defaults.max_scan_age = "12h"' >"$BATS_TEST_TMPDIR/B.json"
  pg_make_db "$PG_DB" "$BATS_TEST_TMPDIR/A.json" "$BATS_TEST_TMPDIR/report.json"
  # More images in the database: longer compiles, wider windows.
  for r in "$PG_SRC"/../shared/testdata/reports/*/*.json; do
    "$PG_CLI" import --db "$PG_DB" "$r" >/dev/null 2>&1 || true
  done
  local b i dir=$BATS_TEST_TMPDIR/conc
  mkdir -p "$dir"
  b=$(make_bundle conc 1)
  pg_state_json conc-ID "$b" >"$dir/template.json"
  for i in $(seq 200); do
    sed "s/conc-ID/conc-$i-$$/" "$dir/template.json" >"$dir/state-$i.json"
  done
  cat >"$dir/one.sh" <<EOF
#!/bin/bash
PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$dir/state-\$1.json" >/dev/null 2>"$dir/err-\$1"
echo "\$1 \$?" >>"$dir/results"
EOF
  chmod +x "$dir/one.sh"
  : >"$dir/results"
  (seq 200 | xargs -P 16 -n 1 "$dir/one.sh") &
  local hooks=$! sets_failed=0 p
  : >"$dir/stop"
  (
    # A reader of the index's trailer (magic, size, checksum) all along.
    n=0
    while [ -e "$dir/stop" ]; do
      "$PG_CLI" index status --db "$PG_DB" >/dev/null 2>>"$dir/status-err" || echo bad >>"$dir/status-bad"
      n=$((n + 1))
    done
    echo "$n" >"$dir/status-count"
  ) &
  local watcher=$!
  (
    for i in $(seq 20); do
      "$PG_CLI" index build --db "$PG_DB" >/dev/null 2>>"$dir/build-err" || echo bad >>"$dir/build-bad"
      sleep 0.05
    done
  ) &
  local builder=$!
  for i in $(seq 50); do
    p=A
    [ $((i % 2)) -eq 1 ] && p=B
    "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/$p.json" >/dev/null 2>"$dir/set-err" ||
      { sets_failed=$((sets_failed + 1)); cat "$dir/set-err" >&2; }
    sleep 0.02
  done
  wait "$hooks"
  wait "$builder"
  rm -f "$dir/stop"
  wait "$watcher"
  [ "$sets_failed" -eq 0 ] || pg_fail "$sets_failed policy set(s) failed"
  [ ! -e "$dir/build-bad" ] || pg_fail "index build failed: $(head -n 3 "$dir/build-err")"
  [ ! -e "$dir/status-bad" ] || pg_fail "a reader found a bad index: $(head -n 3 "$dir/status-err")"
  [ "$(cat "$dir/status-count")" -gt 10 ] || pg_fail "the reader ran only $(cat "$dir/status-count") times"
  echo "# index checked $(cat "$dir/status-count") times" >&3
  ! ls -a "$(dirname "$PG_DB")" | grep -q '^\.policy\.idx\.' ||
    pg_fail "temporary index files left: $(ls -a "$(dirname "$PG_DB")")"
  ! grep -l "policy index" "$dir"/err-* >/dev/null 2>&1 || pg_fail "a hook saw a bad index: $(cat "$dir"/err-* | head -n 3)"
  [ "$(wc -l <"$dir/results")" -eq 200 ] || pg_fail "$(wc -l <"$dir/results") results, expected 200"
  local errors
  errors=$(awk '$2 != 0 && $2 != 1' "$dir/results")
  [ -z "$errors" ] || pg_fail "runs that did not decide: $errors; first error: $(cat "$dir"/err-* | head -n 3)"

  # Every decision line: policy conc-A allows, conc-B denies, and the exit
  # code agrees.
  for i in $(seq 100); do
    [ "$(grep -c "container=conc-[0-9]*-$$ " "$PG_SYSLOG_FILE")" -ge 200 ] && break
    sleep 0.1
  done
  local n rc line pol dec a=0 bb=0 mixed=0
  while read -r n rc; do
    line=$(grep -E "container=conc-$n-$$ " "$PG_SYSLOG_FILE" | tail -n 1)
    pol=$(logfmt_field "$line" policy) || pol=
    dec=$(logfmt_field "$line" decision) || dec=
    case "$pol/$dec/$rc" in
    conc-A/allow/0) a=$((a + 1)) ;;
    conc-B/deny/1) bb=$((bb + 1)) ;;
    *)
      mixed=$((mixed + 1))
      echo "run $n: exit $rc, line: $line" >&2
      ;;
    esac
  done <"$dir/results"
  echo "policy A decisions: $a, policy B decisions: $bb"
  [ "$mixed" -eq 0 ] || pg_fail "$mixed decisions matched neither policy"
  [ $((a + bb)) -eq 200 ] || pg_fail "only $((a + bb)) decisions logged"
}
