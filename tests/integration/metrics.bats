#!/usr/bin/env bats
# Decision metrics (README, "Metrics"): the hook counts every decision in
# metrics_counters and renders metrics_textfile for node_exporter.  100
# hooks at once leave a valid file with exact counts, never a count going
# down on the way; `patchgate metrics` prints the same; the hook decides
# the same with metrics on or off; a counters file or textfile directory
# someone else could write is refused without touching the decision; the
# files are opened before the sandbox, and inside it the hook only creates
# and renames in the textfile's directory (Landlock, seccomp).  The
# exposition format is checked by tests/integration/prom_check.py.

load helpers

setup_file() {
  export PG_RUNTIME=runc
  export PG_HOOK_ENGINE=runc
  pg_require runc strace || return 1
  pg_setup_file syslog || return 1
  pg_skipping && return 0
  # prom_check.py reads with Debian's parser too (make deps).
  /usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null ||
    pg_fail "python3-prometheus-client is missing (make deps)" || return 1
  # Image 3: scanned 12 days ago, with a fixable critical vulnerability.
  pg_make_variant_image 3 "stale and vulnerable" || return 1
}

teardown_file() {
  pg_teardown_file
}

setup() {
  pg_setup
  CHECK=$PG_SRC/tests/integration/prom_check.py
  MDIR=$BATS_TEST_TMPDIR/textfile
  TEXTFILE=$MDIR/patchgate.prom
  COUNTERS=$BATS_TEST_TMPDIR/metrics.counters
  mkdir -p "$MDIR"
  chmod 0755 "$MDIR"
  # Image 1 fresh (allowed), 2 never scanned (UNSCANNED), 3 stale and
  # fixable (SCAN_STALE and FIXABLE_CRITICAL).
  pg_policy '.defaults.fixable_grace = {"CRITICAL": "30m"}' >"$PG_POLICY_FILE"
  make_trivy_report 1 "$(pg_days_ago 1)" >"$BATS_TEST_TMPDIR/r1.json"
  make_trivy_report 3 "$(pg_days_ago 12)" "CVE-2024-0001|busybox|1.0|1.1|CRITICAL" >"$BATS_TEST_TMPDIR/r3.json"
  pg_make_db "$PG_DB" "$PG_POLICY_FILE" "$BATS_TEST_TMPDIR/r1.json" "$BATS_TEST_TMPDIR/r3.json"
  METRICS_CONFIG=$BATS_TEST_TMPDIR/hook-metrics.json
  metrics_config >"$METRICS_CONFIG"
}

teardown() {
  pg_teardown
}

# metrics_config [JQ] : a hook config like PG_HOOK_CONFIG's, with the textfile
# and the counters set, published after every decision (JQ changes it
# further).
metrics_config() {
  pg_hook_config "$PG_DB" | jq --arg t "$TEXTFILE" --arg c "$COUNTERS" \
    '.metrics_textfile = $t | .metrics_counters = $c | .metrics_interval = "0s"' | jq "${1:-.}"
}

# state NAME IMAGE : a bundle of IMAGE and its OCI state; prints the state's path.
state() {
  local b
  b=$(make_bundle "$1" "$2") || return 1
  pg_state_json "$1" "$b" >"$BATS_TEST_TMPDIR/state-$1.json"
  echo "$BATS_TEST_TMPDIR/state-$1.json"
}

# hook CONFIG STATE : the hook; exit status in $status, stderr in $output.
hook() {
  run timeout 30 env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$1" <"$2"
}

# series NAME LABELS : the value of one series in $TEXTFILE (checked first).
series() {
  "$CHECK" "$TEXTFILE" | jq -r --arg k "$1{$2}" '.[$k] // "absent"'
}

@test "metrics: 100 hooks at once: a valid textfile, counts summing to 100 split by decision and reason, never going down" {
  local s1 s2 s3 dir=$BATS_TEST_TMPDIR/conc i kind
  s1=$(state ok 1)
  s2=$(state unscanned 2)
  s3=$(state stale 3)
  mkdir -p "$dir"
  # 40 allowed, 25 UNSCANNED, 15 SCAN_STALE + FIXABLE_CRITICAL, 20 with a
  # malformed state (INVALID_INPUT, exit 2), in a shuffled order.
  for i in $(seq 100); do
    if [ "$i" -le 40 ]; then
      sed "s/\"id\":\"ok\"/\"id\":\"ok-$i\"/" "$s1" >"$dir/state-$i.json"
      echo "$i 0" >>"$dir/expected"
    elif [ "$i" -le 65 ]; then
      sed "s/\"id\":\"unscanned\"/\"id\":\"unscanned-$i\"/" "$s2" >"$dir/state-$i.json"
      echo "$i 1" >>"$dir/expected"
    elif [ "$i" -le 80 ]; then
      sed "s/\"id\":\"stale\"/\"id\":\"stale-$i\"/" "$s3" >"$dir/state-$i.json"
      echo "$i 1" >>"$dir/expected"
    else
      echo "{\"ociVersion\": \"1.0.2\", \"id\": \"bad-$i\", \"bundle\": 7}" >"$dir/state-$i.json"
      echo "$i 2" >>"$dir/expected"
    fi
  done
  cat >"$dir/one.sh" <<EOF
#!/bin/bash
PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$METRICS_CONFIG" <"$dir/state-\$1.json" >/dev/null 2>"$dir/err-\$1"
echo "\$1 \$?" >>"$dir/results"
EOF
  chmod +x "$dir/one.sh"
  : >"$dir/results"
  # A reader reads the textfile all along, as node_exporter would, and
  # keeps every version it saw, in order.
  : >"$dir/reading"
  /usr/bin/python3 - "$TEXTFILE" "$dir" <<'PY' &
import os, sys
path, out = sys.argv[1], sys.argv[2]
seen, last = [], None
while os.path.exists(os.path.join(out, "reading")):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        continue
    if text != last:
        seen.append(text)
        last = text
for i, text in enumerate(seen):
    with open(os.path.join(out, "seen-%06d.prom" % i), "w") as f:
        f.write(text)
PY
  local reader=$!
  seq 100 | shuf | xargs -P 16 -n 1 "$dir/one.sh"
  rm -f "$dir/reading"
  wait "$reader"

  # Every run decided as it would without metrics.
  [ "$(sort -n "$dir/results")" = "$(sort -n "$dir/expected")" ] ||
    pg_fail "exit codes differ: $(diff <(sort -n "$dir/expected") <(sort -n "$dir/results") | head -n 5)"
  # The file: valid, and exact.
  run "$CHECK" "$TEXTFILE"
  assert_success
  local got=$output
  echo "$got" | jq .
  [ "$(jq '[to_entries[] | select(.key | startswith("patchgate_decisions_total")) | .value] | add' <<<"$got")" = 100 ] ||
    pg_fail "decisions do not sum to 100"
  local want
  want=$(jq -n '{
    "patchgate_decisions_total{decision=\"allow\"}": 40,
    "patchgate_decisions_total{decision=\"audit\"}": 0,
    "patchgate_decisions_total{decision=\"deny\"}": 60,
    "patchgate_decision_reasons_total{decision=\"deny\",reason=\"UNSCANNED\"}": 25,
    "patchgate_decision_reasons_total{decision=\"deny\",reason=\"SCAN_STALE\"}": 15,
    "patchgate_decision_reasons_total{decision=\"deny\",reason=\"FIXABLE_CRITICAL\"}": 15,
    "patchgate_decision_reasons_total{decision=\"deny\",reason=\"INVALID_INPUT\"}": 20}')
  local k v
  for k in $(jq -r 'keys[]' <<<"$got"); do
    v=$(jq -r --arg k "$k" '.[$k]' <<<"$got")
    case $k in
    patchgate_last_decision_timestamp_seconds*)
      [ "$v" -ge $(($(date +%s) - 600)) ] || pg_fail "$k = $v"
      ;;
    *)
      [ "$v" = "$(jq -r --arg k "$k" '.[$k] // 0' <<<"$want")" ] ||
        pg_fail "$k = $v, expected $(jq -r --arg k "$k" '.[$k] // 0' <<<"$want")"
      ;;
    esac
  done
  # Every copy the reader made was valid and no count went down.
  local seen
  seen=$(ls "$dir"/seen-*.prom 2>/dev/null | wc -l)
  echo "# the reader saw $seen versions of the textfile" >&3
  [ "$seen" -gt 0 ] || pg_fail "the reader never saw the textfile"
  # shellcheck disable=SC2046
  run "$CHECK" --monotonic $(ls "$dir"/seen-*.prom) "$TEXTFILE"
  assert_success
  # Nothing left beside it, and nothing went wrong.
  [ "$(ls -A "$MDIR")" = patchgate.prom ] || pg_fail "left in the textfile's directory: $(ls -A "$MDIR")"
  [ "$(stat -c '%s %a %U' "$COUNTERS")" = "4096 644 root" ] || pg_fail "counters file: $(stat -c '%s %a %U' "$COUNTERS")"
  [ "$(stat -c '%a' "$TEXTFILE")" = 644 ] || pg_fail "textfile mode $(stat -c %a "$TEXTFILE")"
  ! grep -q 'metrics=failed' "$PG_SYSLOG_FILE" || pg_fail "$(grep 'metrics=failed' "$PG_SYSLOG_FILE" | head -n 3)"

  # patchgate metrics prints the very same, and as JSON the same numbers.
  run "$PG_CLI" metrics --config "$METRICS_CONFIG"
  assert_success
  [ "$output" = "$(cat "$TEXTFILE")" ] || pg_fail "patchgate metrics differs: $(diff <(echo "$output") "$TEXTFILE")"
  run "$PG_CLI" metrics --config "$METRICS_CONFIG" --json
  assert_success
  [ "$(jq -c '[.generation, .decisions.allow, .decisions.audit, .decisions.deny, .reasons.deny.UNSCANNED,
      .reasons.deny.SCAN_STALE, .reasons.deny.FIXABLE_CRITICAL, .reasons.deny.INVALID_INPUT, .reasons.allow]' <<<"$output")" \
    = '[100,40,0,60,25,15,15,20,{}]' ] || pg_fail "--json: $output"
}

@test "metrics: on or off, the hook decides the same (exit code, stderr, decision line)" {
  local s kind on off
  pg_hook_config "$BATS_TEST_TMPDIR/missing.db" '.on_error = "allow"' >"$BATS_TEST_TMPDIR/off-err.json"
  pg_hook_config "$BATS_TEST_TMPDIR/missing.db" '.on_error = "allow"' |
    jq --arg t "$TEXTFILE" --arg c "$COUNTERS" '.metrics_textfile = $t | .metrics_counters = $c | .metrics_interval = "0s"' \
      >"$BATS_TEST_TMPDIR/on-err.json"
  echo '{"id": "bad"' >"$BATS_TEST_TMPDIR/state-broken.json"
  for kind in ok:1 unscanned:2 stale:3; do
    s=$(state "${kind%%:*}" "${kind#*:}")
    hook "$PG_HOOK_CONFIG" "$s"
    off="$status|$output"
    hook "$METRICS_CONFIG" "$s"
    on="$status|$output"
    [ "$on" = "$off" ] || pg_fail "${kind%%:*}: metrics off: $off; on: $on"
    echo "${kind%%:*}: $off"
  done
  hook "$PG_HOOK_CONFIG" "$BATS_TEST_TMPDIR/state-broken.json"
  off="$status|$output"
  hook "$METRICS_CONFIG" "$BATS_TEST_TMPDIR/state-broken.json"
  [ "$status|$output" = "$off" ] || pg_fail "broken state: off: $off; on: $status|$output"
  s=$BATS_TEST_TMPDIR/state-ok.json
  hook "$BATS_TEST_TMPDIR/off-err.json" "$s"
  off="$status|$output"
  hook "$BATS_TEST_TMPDIR/on-err.json" "$s"
  [ "$status|$output" = "$off" ] || pg_fail "on_error allow: off: $off; on: $status|$output"
  [ "$status" -eq 0 ] || pg_fail "on_error allow: exit $status"
  # Counted: 3 + 1 + 1, the last one an allowed POLICY_ERROR.
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 2 ] || pg_fail "$(cat "$TEXTFILE")"
  [ "$(series patchgate_decision_reasons_total 'decision="allow",reason="POLICY_ERROR"')" = 1 ] ||
    pg_fail "$(cat "$TEXTFILE")"
  [ "$(series patchgate_decision_reasons_total 'decision="deny",reason="INVALID_INPUT"')" = 1 ] ||
    pg_fail "$(cat "$TEXTFILE")"
  # The decision lines are the same too (the container names differ only
  # in the runs above; compare the last pair's fields).
  wait_syslog 'decision=allow container=ok .*reasons=POLICY_ERROR' >/dev/null
}

# refused_case WHAT SAYS [counted] : the hook with METRICS_CONFIG on an
# allowed and a refused container decides as without metrics, writes no
# textfile, and logs exactly one metrics line per run, which SAYS it; the
# counters file is left as it was (unless "counted": the textfile alone is
# refused).
refused_case() {
  local what=$1 s id before
  before=$(sha256sum "$COUNTERS" 2>/dev/null || echo none)
  for id in ok:1 unscanned:2; do
    s=$(state "${id%%:*}-$BATS_TEST_NUMBER-${what// /_}" "${id#*:}")
    hook "$METRICS_CONFIG" "$s"
    case ${id%%:*} in
    ok) [ "$status" -eq 0 ] || pg_fail "$what: allowed image: exit $status: $output" ;;
    *) [ "$status" -eq 1 ] || pg_fail "$what: unscanned image: exit $status: $output" ;;
    esac
    wait_syslog "metrics=failed container=${id%%:*}-$BATS_TEST_NUMBER-${what// /_} " >/dev/null ||
      pg_fail "$what: no metrics line" || return 1
    [[ $syslog_line == *"$2"* ]] || pg_fail "$what: the line does not say '$2': $syslog_line"
    [[ $syslog_line == *"decision_unchanged=true"* ]] || pg_fail "$what: $syslog_line"
    [ "$(grep -c "metrics=failed container=${id%%:*}-$BATS_TEST_NUMBER-${what// /_} " "$PG_SYSLOG_FILE")" -eq 1 ] ||
      pg_fail "$what: more than one metrics line for one run"
    wait_decision "${id%%:*}-$BATS_TEST_NUMBER-${what// /_}" >/dev/null || pg_fail "$what: no decision line"
  done
  [ ! -e "$TEXTFILE" ] || pg_fail "$what: the textfile was written: $(cat "$TEXTFILE")"
  if [ "${3:-}" != counted ]; then
    [ "$(sha256sum "$COUNTERS" 2>/dev/null || echo none)" = "$before" ] || pg_fail "$what: the counters file changed"
  fi
}

@test "metrics: a counters file not root's, writable by group or others, a symlink, a hard link or of another format is refused: decision unchanged, nothing written" {
  local good=$BATS_TEST_TMPDIR/good.counters
  # A counters file made by the hook itself, to link to and corrupt.
  COUNTERS=$good metrics_config >"$BATS_TEST_TMPDIR/good.json"
  hook "$BATS_TEST_TMPDIR/good.json" "$(state seed 1)"
  [ "$status" -eq 0 ] && [ -s "$good" ] || pg_fail "no counters file made: $output"
  rm -f "$TEXTFILE"

  cp "$good" "$COUNTERS"
  chown 65534:65534 "$COUNTERS"
  refused_case "owned by nobody" "owned by uid 65534"
  chown 0:0 "$COUNTERS"
  chmod 0666 "$COUNTERS"
  refused_case "world-writable" "writable by group or others"
  chmod 0664 "$COUNTERS"
  refused_case "group-writable" "writable by group or others"
  rm -f "$COUNTERS"
  ln -s "$good" "$COUNTERS"
  refused_case "a symlink" "symlink"
  rm -f "$COUNTERS"
  ln "$good" "$COUNTERS"
  refused_case "a hard link" "hard links"
  rm -f "$COUNTERS"
  head -c 4096 /dev/urandom >"$COUNTERS"
  refused_case "random bytes" "another format"
  head -c 100 /dev/zero >"$COUNTERS"
  refused_case "100 bytes" "not a patchgate counters file"
  rm -f "$COUNTERS"
  mkdir "$COUNTERS"
  refused_case "a directory" "metrics counters file"
  rmdir "$COUNTERS"
  # A directory above it that others may write: the trusted-path check.
  mkdir -m 0777 "$BATS_TEST_TMPDIR/open"
  COUNTERS=$BATS_TEST_TMPDIR/open/metrics.counters
  metrics_config >"$METRICS_CONFIG"
  refused_case "in a world-writable directory" "writable"
  [ ! -e "$COUNTERS" ] || pg_fail "the counters file was created in a world-writable directory"
}

@test "metrics: a textfile directory not root's, writable by group or others, or reached through a symlink is refused; counting goes on" {
  local real=$BATS_TEST_TMPDIR/real
  mkdir -m 0755 "$real"
  chown 65534:65534 "$MDIR"
  refused_case "dir owned by nobody" "owned by uid 65534" counted
  chown 0:0 "$MDIR"
  chmod 0775 "$MDIR"
  refused_case "dir group-writable" "writable by group" counted
  chmod 0757 "$MDIR"
  refused_case "dir world-writable" "writable by others" counted
  rm -rf "$MDIR"
  ln -s "$real" "$MDIR"
  refused_case "dir a symlink" "symlink" counted
  [ -z "$(ls -A "$real")" ] || pg_fail "written through the symlink: $(ls -A "$real")"
  # The counters were counted all along: 8 decisions.
  run "$PG_CLI" metrics --config "$METRICS_CONFIG" --json
  assert_success
  [ "$(jq .generation <<<"$output")" = 8 ] || pg_fail "$output"
}

@test "metrics: a textfile directory under another user's directory (Debian's /var/lib/prometheus) is accepted when root's" {
  # As Debian lays out node_exporter's: /var/lib/prometheus is the
  # prometheus user's, node-exporter in it root's 0755.
  local top=$BATS_TEST_TMPDIR/prometheus
  mkdir -m 0755 "$top"
  chown 65534:65534 "$top"
  mkdir -m 0755 "$top/node-exporter"
  TEXTFILE=$top/node-exporter/patchgate.prom
  metrics_config >"$METRICS_CONFIG"
  hook "$METRICS_CONFIG" "$(state ok 1)"
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 1 ] || pg_fail "$(cat "$TEXTFILE" 2>&1)"
}

@test "metrics: a failure inside the sandbox (the textfile is a directory) is logged once; decision unchanged" {
  mkdir "$TEXTFILE"
  hook "$METRICS_CONFIG" "$(state ok 1)"
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  wait_syslog 'metrics=failed container=ok ' >/dev/null || pg_fail "no metrics line"
  [[ $syslog_line == *"renaming"* ]] || pg_fail "$syslog_line"
  [ "$(grep -c 'metrics=failed container=ok ' "$PG_SYSLOG_FILE")" -eq 1 ] || pg_fail "more than one line"
  [ "$(ls -A "$MDIR")" = patchgate.prom ] || pg_fail "left behind: $(ls -A "$MDIR")"
  rmdir "$TEXTFILE"
  # The count was kept: the next decision publishes both.
  hook "$METRICS_CONFIG" "$(state ok2 1)"
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 2 ] || pg_fail "$(cat "$TEXTFILE")"
}

@test "metrics: a refusal at the hook's deadline is counted (POLICY_ERROR) and published by the next hook" {
  local cfg=$BATS_TEST_TMPDIR/slow.json
  metrics_config '.timeout = "1s"' >"$cfg"
  # A runtime that never closes stdin: the deadline refuses.
  run bash -c 'env PATCHGATE_NOW="$1" timeout 20 "$2" --config "$3" < <(exec sleep 30 2>/dev/null 3>&-)' _ \
    "$PG_NOW" "$PG_HOOK_BIN" "$cfg"
  [ "$status" -eq 2 ] || pg_fail "exit $status: $output"
  assert_output_contains "deadline of 1000 ms passed"
  run "$PG_CLI" metrics --config "$cfg" --json
  assert_success
  [ "$(jq -c '[.generation, .decisions.deny, .reasons.deny.POLICY_ERROR]' <<<"$output")" = '[1,1,1]' ] ||
    pg_fail "not counted: $output"
  [ ! -e "$TEXTFILE" ] || pg_fail "published from the signal handler"
  hook "$cfg" "$(state ok 1)"
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$(series patchgate_decision_reasons_total 'decision="deny",reason="POLICY_ERROR"')" = 1 ] ||
    pg_fail "$(cat "$TEXTFILE")"
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 1 ] || pg_fail "$(cat "$TEXTFILE")"
}

@test "metrics: files opened before the sandbox; inside it only a new file created and renamed in the textfile's directory, after the decision is logged" {
  local s t=$BATS_TEST_TMPDIR/trace.txt
  s=$(state traced 1)
  run strace -f -s 256 -o "$t" -E PATCHGATE_NOW="$PG_NOW" -E ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
    "$PG_HOOK_BIN" --config "$METRICS_CONFIG" <"$s"
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  first() {
    local n
    n=$(grep -n -m1 -E -- "$1" "$t" | cut -d: -f1)
    echo "${n:-0}"
  }
  local counters dir landlock sec decide tmp ren
  counters=$(first "openat\\(.*metrics\\.counters\", O_RDWR\\|O_CREAT")
  dir=$(first "(openat2?\\(.*\"${MDIR#/}\"|openat\\(.*\"textfile\").*O_DIRECTORY")
  landlock=$(first 'landlock_restrict_self\(')
  sec=$(first 'seccomp\(SECCOMP_SET_MODE_FILTER, [^)]*\{len=[0-9]+.*\) = 0')
  decide=$(first '(send(to|msg)?|write)\(.*decision=allow')
  tmp=$(first 'openat\(.*"\.patchgate\.prom\.[0-9]+", O_WRONLY\|O_CREAT\|O_EXCL')
  ren=$(first 'rename(at2?)?\(.*"\.patchgate\.prom\.[0-9]+".*"patchgate\.prom"')
  echo "counters=$counters dir=$dir landlock=$landlock seccomp=$sec decision=$decide tmp=$tmp rename=$ren"
  for v in counters dir sec decide tmp ren; do
    [ "${!v}" -gt 0 ] || pg_fail "$v not in the trace" || return 1
  done
  if [ "${SANITIZE_BUILD:-}" != 1 ] && ! nm "$PG_HOOK_BIN" 2>/dev/null | grep -q __asan_init; then
    [ "$landlock" -gt 0 ] && [ "$landlock" -lt "$sec" ] || pg_fail "Landlock not applied before seccomp"
  fi
  [ "$counters" -lt "$sec" ] && [ "$dir" -lt "$sec" ] || pg_fail "metrics files opened inside the sandbox"
  [ "$decide" -lt "$tmp" ] && [ "$tmp" -lt "$ren" ] || pg_fail "the textfile was written before the decision was logged"
  # Inside the sandbox nothing else is created, written or renamed.
  ! tail -n +"$sec" "$t" | grep -E 'open(at2?)?\(.*O_(WRONLY|RDWR)' | grep -v '\.patchgate\.prom\.' ||
    pg_fail "another file opened for writing inside the sandbox"
  ! tail -n +"$sec" "$t" | grep -E '(rename|unlink)(at2?)?\(' | grep -vE '^[0-9]+ +(renameat2?|unlinkat)\([0-9]+, "\.patchgate\.prom\.[0-9]+"' ||
    pg_fail "another rename or unlink inside the sandbox"
  grep -q '+++ exited with 0 +++' "$t" || pg_fail "the hook did not exit 0 under strace"
}

@test "metrics: under runc, allowed and refused starts are counted" {
  local b cid
  b=$(PG_HOOK_CONFIG=$METRICS_CONFIG make_bundle runc-ok 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
  b=$(PG_HOOK_CONFIG=$METRICS_CONFIG make_bundle runc-refused 2)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 1 ] || pg_fail "$(cat "$TEXTFILE")"
  [ "$(series patchgate_decision_reasons_total 'decision="deny",reason="UNSCANNED"')" = 1 ] ||
    pg_fail "$(cat "$TEXTFILE")"
}

@test "metrics: metrics_interval: a burst publishes once; the next hook after the interval, or --write-textfile, publishes the rest" {
  local s i
  metrics_config '.metrics_interval = "2s"' >"$BATS_TEST_TMPDIR/interval.json"
  s=$(state burst 1)
  for i in 1 2 3 4; do
    hook "$BATS_TEST_TMPDIR/interval.json" "$s"
    [ "$status" -eq 0 ] || pg_fail "hook $i: exit $status: $output"
  done
  # Within the interval a hook prepares no publishing: it never opens the
  # textfile's directory, and neither Landlock nor the textfile's seccomp
  # program is loaded (both cost every start; the first hook after the
  # interval publishes).
  run strace -f -o "$BATS_TEST_TMPDIR/within.txt" -E PATCHGATE_NOW="$PG_NOW" \
    -E ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$PG_HOOK_BIN" --config "$BATS_TEST_TMPDIR/interval.json" <"$s"
  [ "$status" -eq 0 ] || pg_fail "hook 5: exit $status: $output"
  grep -q 'metrics\.counters' "$BATS_TEST_TMPDIR/within.txt" || pg_fail "the counters file was not opened"
  ! grep -E "\"${MDIR#/}\"|\"textfile\"|landlock_" "$BATS_TEST_TMPDIR/within.txt" ||
    pg_fail "publishing prepared within the interval"
  # Published by the first; the four after it within the interval are
  # counted, not published.
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 1 ] || pg_fail "$(cat "$TEXTFILE")"
  run "$PG_CLI" metrics --config "$BATS_TEST_TMPDIR/interval.json"
  assert_success
  [[ $output == *'patchgate_decisions_total{decision="allow"} 5'* ]] || pg_fail "$output"
  # The first hook after the interval publishes them all.
  sleep 2.2
  hook "$BATS_TEST_TMPDIR/interval.json" "$s"
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 6 ] || pg_fail "$(cat "$TEXTFILE")"
  # With no start after a burst, the timer's --write-textfile publishes it.
  hook "$BATS_TEST_TMPDIR/interval.json" "$s"
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 6 ] || pg_fail "$(cat "$TEXTFILE")"
  run "$PG_CLI" metrics --config "$BATS_TEST_TMPDIR/interval.json" --write-textfile
  assert_success
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 7 ] || pg_fail "$(cat "$TEXTFILE")"
}

@test "metrics: patchgate metrics: off, nothing counted yet, --write-textfile, a refused file" {
  run "$PG_CLI" metrics --config "$PG_HOOK_CONFIG"
  [ "$status" -eq 2 ] || pg_fail "metrics off: exit $status: $output"
  assert_output_contains "metrics are off"
  # Nothing counted yet: zeros, valid.
  run "$PG_CLI" metrics --config "$METRICS_CONFIG"
  assert_success
  echo "$output" >"$BATS_TEST_TMPDIR/zero.prom"
  run "$CHECK" "$BATS_TEST_TMPDIR/zero.prom"
  assert_success
  [ "$(jq '[.[]] | add' <<<"$output")" = 0 ] || pg_fail "not all zero: $output"
  [ ! -e "$COUNTERS" ] || pg_fail "patchgate metrics created the counters file"
  # --write-textfile renders it as the hook does.
  hook "$METRICS_CONFIG" "$(state ok 1)"
  rm -f "$TEXTFILE"
  run "$PG_CLI" metrics --config "$METRICS_CONFIG" --write-textfile
  assert_success
  [ "$output" = "$(cat "$TEXTFILE")" ] || pg_fail "the textfile differs from the output"
  [ "$(series patchgate_decisions_total 'decision="allow"')" = 1 ] || pg_fail "$(cat "$TEXTFILE")"
  # What the hook refuses, patchgate metrics refuses.
  chmod 0666 "$COUNTERS"
  run "$PG_CLI" metrics --config "$METRICS_CONFIG"
  [ "$status" -eq 2 ] || pg_fail "exit $status: $output"
  assert_output_contains "writable by group or others"
}
