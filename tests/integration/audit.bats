#!/usr/bin/env bats
# patchgate audit: real long-running containers under runc, crun and podman
# (runc), started while the policy allowed them, then decided again by
# `patchgate audit` after the policy tightens, with the hook's own reasons,
# from the runtimes' default state roots.  Those roots (/run/runc,
# /run/crun, and containerd's and Docker's when there) are tmpfs mounts in
# this file's private mount namespace: audit sees this file's containers
# and no one else's, and nothing is left on the host.  Every container a
# test starts is removed by its teardown; every test checks that audit
# left them running.

load helpers
load engines

setup_file() {
  export PG_RUNTIME=runc
  pg_require runc crun podman skopeo || return 1
  # cgroup2 on /sys/fs/cgroup for crun (hook_crun.bats); podman then runs
  # without a pids limit, there being no controller in that hierarchy.
  pg_setup_file syslog cgroup2 || return 1
  pg_skipping && return 0
  pg_install_tree || return 1
  pg_storage_setup || return 1
  local d
  for d in /run/runc /run/crun /run/containerd /run/docker; do
    [ -d "$d" ] || [ "$d" = /run/runc ] || [ "$d" = /run/crun ] || continue
    mkdir -p "$d"
    mount -t tmpfs -o mode=0700 patchgate-audit "$d" || pg_fail "cannot mount a private $d" || return 1
  done
}

teardown_file() {
  local d
  for d in /run/runc /run/crun /run/containerd /run/docker; do
    mountpoint -q "$d" 2>/dev/null && umount -l "$d"
  done
  pg_teardown_file
}

setup() {
  pg_setup
  pg_storage_hook_config "$PG_DB" >"$PG_HOOK_CONFIG"
  PG_PODMAN_HOOKS_DIR=$BATS_TEST_TMPDIR/hooks.d
  export PG_PODMAN_HOOKS_DIR
  pg_hooks_dir "$PG_PODMAN_HOOKS_DIR"
  AUDIT_JSON=$BATS_TEST_TMPDIR/audit.json
  AUDIT_ERR=$BATS_TEST_TMPDIR/audit.err
}

# Every container the test started, whatever became of the test.
teardown() {
  local rt root id
  if [ -f "$BATS_TEST_TMPDIR/started" ]; then
    while read -r rt root id; do
      if [ "$root" = - ]; then
        "$rt" delete -f "$id" >/dev/null 2>&1
      else
        "$rt" --root "$root" delete -f "$id" >/dev/null 2>&1
      fi
    done <"$BATS_TEST_TMPDIR/started"
  fi
  pg_podman rm -a -f -t 0 >/dev/null 2>&1 || true
  pg_teardown
}

# long_bundle NAME IMAGE [KEY=VALUE...] : make_bundle whose process sleeps
# until the test removes it.
long_bundle() {
  local b
  b=$(make_bundle "$@") || return 1
  jq '.process.args = ["/bin/sleep", "3600"]' "$b/config.json" >"$b/config.json.new" &&
    mv "$b/config.json.new" "$b/config.json" || return 1
  echo "$b"
}

# start_bare RUNTIME ID BUNDLE [ROOT] : `RUNTIME run -d`, in its default
# state root unless ROOT; remembered for teardown.
start_bare() {
  local rt=$1 id=$2 b=$3 root=${4:-}
  echo "$rt ${root:--} $id" >>"$BATS_TEST_TMPDIR/started"
  if ! timeout 60 "$rt" ${root:+--root "$root"} run -d --bundle "$b" "$id" </dev/null >"$b/run.log" 2>&1; then
    cat "$b/run.log" >&2
    [ -s "$b/hook-stderr.log" ] && cat "$b/hook-stderr.log" >&2
    pg_fail "$rt run -d $id failed"
    return 1
  fi
}

# start_podman CIDFILE IMAGE : a detached podman container (runc, its
# default root /run/runc), hooked through the installed hooks.d file.
start_podman() {
  pg_podman run -d --cidfile "$1" "${PG_PODMAN_RUN_FLAGS[@]}" --pids-limit 0 "$2" /bin/sleep 3600 \
    </dev/null >"$1.log" 2>&1 || {
    cat "$1.log" >&2
    pg_fail "podman run -d $2 failed"
    return 1
  }
}

# The status each runtime gives a container: audit must leave it running.
bare_status() {
  local rt=$1 id=$2 root=${3:-}
  "$rt" ${root:+--root "$root"} state "$id" 2>/dev/null | jq -r .status
}

assert_still_running() {
  local rt=$1 id=$2 root=${3:-} s
  s=$(bare_status "$rt" "$id" "$root")
  [ "$s" = running ] || pg_fail "$rt container $id is '$s' after the audit, not running"
}

assert_podman_running() {
  local s
  s=$(pg_podman inspect -f '{{.State.Running}}' "$1") || pg_fail "podman has no container $1 after the audit" || return 1
  [ "$s" = true ] || pg_fail "podman container $1 is no longer running after the audit"
}

# audit_json [ARGS...] : patchgate audit --json into AUDIT_JSON (stderr in
# AUDIT_ERR); status in $status.
audit_json() {
  status=0
  "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --json "$@" >"$AUDIT_JSON" 2>"$AUDIT_ERR" || status=$?
  jq -e 'type == "array"' "$AUDIT_JSON" >/dev/null ||
    pg_fail "audit --json printed no array (exit $status): $(cat "$AUDIT_JSON" "$AUDIT_ERR")"
}

# row ID : the audit's row for container ID.
row() {
  jq -ce --arg id "$1" '[.[] | select(.container == $id)] | if length == 1 then .[0] else error("\(length) rows") end' \
    "$AUDIT_JSON" || pg_fail "no single row for $1 in: $(cat "$AUDIT_JSON")"
}

# assert_row ID JQ-EXPR : the row of container ID passes the jq test.
assert_row() {
  local r
  r=$(row "$1") || return 1
  jq -e "$2" <<<"$r" >/dev/null || pg_fail "row of $1 fails ($2): $r"
}

# The three containers of the main scenario, each allowed at its start:
# bare runc (wired as runc-hook-snippet.json wires it, --engine runc), bare
# crun (unwired), podman.  Sets RUNC_ID, CRUN_ID, PODMAN_ID.
start_three() {
  local b
  RUNC_ID=pg-audit-runc-$BATS_TEST_NUMBER-$$
  CRUN_ID=pg-audit-crun-$BATS_TEST_NUMBER-$$
  b=$(PG_HOOK_ENGINE=runc long_bundle runc-1 1) || return 1
  start_bare runc "$RUNC_ID" "$b" || return 1
  b=$(PG_RUNTIME=crun long_bundle crun-1 1) || return 1
  start_bare crun "$CRUN_ID" "$b" || return 1
  start_podman "$BATS_TEST_TMPDIR/cid" "$PG_REPO:1" || return 1
  PODMAN_ID=$(cat "$BATS_TEST_TMPDIR/cid")
  local id
  for id in "$RUNC_ID" "$CRUN_ID" "$PODMAN_ID"; do
    wait_decision "$id" || return 1
    [ "$(logfmt_field "$syslog_line" decision)" = allow ] || pg_fail "$id was not allowed at its start: $syslog_line" ||
      return 1
  done
}

assert_three_running() {
  assert_still_running runc "$RUNC_ID"
  assert_still_running crun "$CRUN_ID"
  assert_podman_running "$PODMAN_ID"
}

@test "audit: runc, crun and podman containers allowed at their start are listed from the default roots, allowed (exit 0)" {
  pg_db_scanned 1
  start_three
  audit_json --at "$PG_NOW"
  [ "$status" -eq 0 ] || pg_fail "audit exit $status: $(cat "$AUDIT_JSON" "$AUDIT_ERR")"
  [ "$(jq length "$AUDIT_JSON")" -eq 3 ] || pg_fail "expected 3 rows: $(cat "$AUDIT_JSON")"
  assert_row "$RUNC_ID" '.engine == "runc" and .runtime == "runc" and .decision == "allow" and .reasons == [] and .refused == false
    and .state == "/run/runc/\(.container)" and .status == "running" and .check.decision == "allow" and .error == null'
  assert_row "$RUNC_ID" "(.digest | test(\"^($(digest_re 1))\$\")) and .check.policy == \"$PG_POLICY_VERSION\""
  assert_row "$CRUN_ID" '.engine == "runc" and .runtime == "crun" and .decision == "allow" and .state == "/run/crun/\(.container)"'
  assert_row "$PODMAN_ID" ".engine == \"podman\" and .runtime == \"runc\" and .decision == \"allow\"
    and .digest == \"$PG_CONFIG_1\" and .image == \"$PG_REPO:1\" and .check.engine == \"podman\""
  # running_since: the runtime's own created time, before now.
  local id since
  for id in "$RUNC_ID" "$CRUN_ID" "$PODMAN_ID"; do
    since=$(row "$id" | jq -r .running_since)
    [[ $since =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]] || pg_fail "$id: running_since '$since'"
    [ "$(date -u -d "$since" +%s)" -le "$(date -u +%s)" ] || pg_fail "$id: running_since $since is in the future"
  done
  # The line the hook logged at each start, and the one audit says it
  # would log now: the same decision, field for field.
  local line f
  for id in "$RUNC_ID" "$CRUN_ID" "$PODMAN_ID"; do
    wait_decision "$id"
    line=$(row "$id" | jq -r .check.log)
    for f in decision container digest reasons engine scope policy mode image; do
      [ "$(logfmt_field "$syslog_line" "$f")" = "$(logfmt_field "$line" "$f")" ] ||
        pg_fail "$id: $f differs: hook logged: $syslog_line; audit: $line"
    done
  done
  assert_three_running
}

@test "audit: after the policy tightens, each container is refused with the hook's reasons (exit 1), and left running" {
  pg_db_scanned 1
  start_three
  # A day-old scan, and now at most 12 hours: what the hook would refuse.
  pg_policy '.version = "pg-test-2" | .defaults.max_scan_age = "12h"' >"$BATS_TEST_TMPDIR/tight.json"
  "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/tight.json" >/dev/null || pg_fail "policy set failed"

  audit_json --at "$PG_NOW"
  [ "$status" -eq 1 ] || pg_fail "audit exit $status, expected 1: $(cat "$AUDIT_JSON" "$AUDIT_ERR")"
  local id
  for id in "$RUNC_ID" "$CRUN_ID" "$PODMAN_ID"; do
    assert_row "$id" '.decision == "deny" and .refused == true and .reasons == ["SCAN_STALE"]
      and .check.decision == "deny" and .check.policy == "pg-test-2" and .check.reasons[0].code == "SCAN_STALE"
      and (.check.reasons[0].detail | test("scanned 24 hours ago"))'
  done
  assert_row "$PODMAN_ID" '.engine == "podman"'

  # The table says the same, with the hook's own words below it.
  run "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --at "$PG_NOW"
  [ "$status" -eq 1 ] || pg_fail "audit (table) exit $status: $output"
  assert_output_matches "CONTAINER +ENGINE +IMAGE +DECISION +REASONS +RUNNING SINCE"
  assert_output_matches "$RUNC_ID +runc +[^ ]+ +deny +SCAN_STALE +[0-9-]+T"
  assert_output_matches "$CRUN_ID +runc +[^ ]+ +deny +SCAN_STALE"
  # podman's 64-hex ID as podman shows it: its first 12.
  assert_output_matches "${PODMAN_ID:0:12} +podman +$PG_REPO:1 +deny +SCAN_STALE"
  refute_output_contains "$PODMAN_ID"
  assert_output_matches "$RUNC_ID: .*scanned 24 hours ago"
  assert_output_contains "3 containers: 0 allowed, 3 refused now, 0 not decided."
  assert_three_running

  # What the hook itself decides for the same image under the same policy.
  local b cid
  b=$(PG_HOOK_ENGINE=runc long_bundle runc-again 1)
  cid=pg-audit-again-$$
  echo "runc - $cid" >>"$BATS_TEST_TMPDIR/started"
  run timeout 60 runc run -d --bundle "$b" "$cid" </dev/null
  assert_failure
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons SCAN_STALE
  assert_log policy pg-test-2
}

@test "audit --at: the same policy later refuses a scan that will be stale then" {
  pg_db_scanned 1
  start_three
  audit_json --at "$(pg_rfc3339 $((PG_NOW_EPOCH + 10 * 86400)))"
  [ "$status" -eq 1 ] || pg_fail "audit exit $status: $(cat "$AUDIT_JSON" "$AUDIT_ERR")"
  local id
  for id in "$RUNC_ID" "$CRUN_ID" "$PODMAN_ID"; do
    assert_row "$id" '.decision == "deny" and .reasons == ["SCAN_STALE"] and (.check.reasons[0].detail | test("scanned 11 days ago"))'
  done
  # And now, with the same database: allowed.
  audit_json --at "$PG_NOW"
  [ "$status" -eq 0 ] || pg_fail "audit at PG_NOW exit $status"
  assert_three_running
}

@test "audit: containers started without the hook are decided as the hook would decide them (UNSCANNED, UNIDENTIFIED)" {
  pg_db_scanned 1
  local b unscanned=pg-audit-unscanned-$$ unidentified=pg-audit-unidentified-$$ ok=pg-audit-ok-$$
  # Started before patchgate was wired: no hook in the bundle.
  b=$(PG_HOOK_STAGE=none long_bundle unscanned 2)
  start_bare runc "$unscanned" "$b"
  b=$(PG_HOOK_STAGE=none long_bundle unidentified 1)
  rm -f "$b/umoci.json"
  start_bare runc "$unidentified" "$b"
  b=$(PG_HOOK_ENGINE=runc long_bundle ok 1)
  start_bare runc "$ok" "$b"

  audit_json --at "$PG_NOW"
  [ "$status" -eq 1 ] || pg_fail "audit exit $status: $(cat "$AUDIT_JSON")"
  assert_row "$unscanned" ".decision == \"deny\" and .reasons == [\"UNSCANNED\"] and (.digest | test(\"^($(digest_re 2))\$\"))"
  assert_row "$unidentified" '.decision == "deny" and (.reasons | index("UNIDENTIFIED")) and .digest == null'
  assert_row "$ok" '.decision == "allow"'
  # A policy in audit mode: the same containers would run, audited.
  pg_policy '.defaults.mode = "audit"' >"$BATS_TEST_TMPDIR/observe.json"
  "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/observe.json" >/dev/null
  audit_json --at "$PG_NOW"
  [ "$status" -eq 0 ] || pg_fail "audit-mode policy: exit $status: $(cat "$AUDIT_JSON")"
  assert_row "$unscanned" '.decision == "audit" and .refused == false and .reasons == ["UNSCANNED"]'
  for b in "$unscanned" "$unidentified" "$ok"; do
    assert_still_running runc "$b"
  done
}

@test "audit: a tampered or oversized config.json is an error row that counts as refused, never an allow" {
  pg_db_scanned 1
  local big=pg-audit-big-$$ link=pg-audit-link-$$ ann=pg-audit-ann-$$ fine=pg-audit-fine-$$ bfine b
  bfine=$(PG_HOOK_ENGINE=runc long_bundle fine 1)
  start_bare runc "$fine" "$bfine"
  b=$(PG_HOOK_ENGINE=runc long_bundle big 1)
  start_bare runc "$big" "$b"
  # Past the hook's 16 MiB bound for config.json, still valid JSON.
  {
    printf '{"ociVersion": "1.0.2", "annotations": {}, "padding": "'
    head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' a
    printf '"}'
  } >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
  b=$(PG_HOOK_ENGINE=runc long_bundle link 1)
  start_bare runc "$link" "$b"
  # A symlink to an allowed container's config.json: refused, never followed.
  ln -sf "$bfine/config.json" "$b/config.json.new" && mv -T "$b/config.json.new" "$b/config.json"
  b=$(PG_HOOK_ENGINE=runc long_bundle ann 1)
  start_bare runc "$ann" "$b"
  jq '.annotations = {"org.example": 1}' "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"

  audit_json --at "$PG_NOW"
  [ "$status" -eq 1 ] || pg_fail "audit exit $status, expected 1: $(cat "$AUDIT_JSON" "$AUDIT_ERR")"
  assert_row "$fine" '.decision == "allow"'
  assert_row "$big" '.decision == "error" and .refused == true and .reasons == ["INVALID_INPUT"] and .check == null
    and (.error | test("config.json.*larger|larger.*config.json|limit"))'
  assert_row "$link" '.decision == "error" and .refused == true and .reasons == ["INVALID_INPUT"]
    and (.error | test("config.json"))'
  assert_row "$ann" '.decision == "error" and .refused == true and (.error | test("annotation `org.example` must be a string"))'
  run "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --at "$PG_NOW"
  [ "$status" -eq 1 ]
  assert_output_matches "$big +runc +- +error +INVALID_INPUT"
  assert_output_matches "$link: INVALID_INPUT: "
  for b in "$fine" "$big" "$link" "$ann"; do
    assert_still_running runc "$b"
  done
}

@test "audit: an annotation named bundle cannot lend a container another bundle's allowed identity" {
  pg_db_scanned 1
  local ok=pg-audit-lender-$$ thief=pg-audit-thief-$$ bok b
  bok=$(PG_HOOK_ENGINE=runc long_bundle lender 1)
  start_bare runc "$ok" "$bok"
  # The unscanned image, hookless, with runc's own label name as an
  # annotation pointing at the allowed bundle.
  b=$(PG_HOOK_STAGE=none long_bundle thief 2 "bundle=$bok")
  start_bare runc "$thief" "$b"
  jq -e --arg b "$bok" '.config.labels | index("bundle=\($b)")' "/run/runc/$thief/state.json" >/dev/null ||
    pg_fail "runc did not keep the annotation among its labels: the test tests nothing"

  audit_json --at "$PG_NOW"
  [ "$status" -eq 1 ] || pg_fail "audit exit $status: $(cat "$AUDIT_JSON")"
  assert_row "$thief" ".bundle == \"$b\" and .decision == \"deny\" and .reasons == [\"UNSCANNED\"]"
  assert_row "$ok" ".bundle == \"$bok\" and .decision == \"allow\""
}

@test "audit --root: another state root instead of the defaults; a state that cannot be read is an error row (exit 2)" {
  pg_db_scanned 1
  local root=$BATS_TEST_TMPDIR/runc-root id=pg-audit-private-$$ def=pg-audit-default-$$ b
  b=$(PG_HOOK_ENGINE=runc long_bundle private 1)
  start_bare runc "$id" "$b" "$root"
  b=$(PG_HOOK_ENGINE=runc long_bundle default 1)
  start_bare runc "$def" "$b"

  audit_json --at "$PG_NOW"
  jq -e --arg id "$id" 'map(.container) | index($id) == null' "$AUDIT_JSON" >/dev/null ||
    pg_fail "a private root was looked at by default"
  audit_json --at "$PG_NOW" --root "$root"
  [ "$status" -eq 0 ] || pg_fail "audit --root exit $status: $(cat "$AUDIT_JSON" "$AUDIT_ERR")"
  [ "$(jq -r 'map(.container) | join(" ")' "$AUDIT_JSON")" = "$id" ] || pg_fail "rows: $(cat "$AUDIT_JSON")"
  assert_row "$id" ".state == \"$root/$id\" and .decision == \"allow\""

  # A runtime's state that makes no sense: listed, not decided, exit 2.
  mkdir -p "$root/broken"
  echo '{"id": "broken", "init_process_pid": 1' >"$root/broken/state.json"
  audit_json --at "$PG_NOW" --root "$root" --root /run/runc
  [ "$status" -eq 2 ] || pg_fail "audit exit $status, expected 2: $(cat "$AUDIT_JSON")"
  assert_row broken '.decision == "error" and .refused == false and (.error | test("invalid JSON"))'
  assert_row "$id" '.decision == "allow"'
  assert_row "$def" '.decision == "allow"'

  # A root that is not there is no empty audit.
  run "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --root "$BATS_TEST_TMPDIR/nowhere"
  [ "$status" -eq 2 ]
  assert_output_contains "state root $BATS_TEST_TMPDIR/nowhere"
  assert_still_running runc "$id" "$root"
  assert_still_running runc "$def"
}

@test "audit: without a policy index there is nothing to decide with (exit 2); no container is a clean exit 0" {
  pg_db_scanned 1
  run "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --at "$PG_NOW"
  [ "$status" -eq 0 ] || pg_fail "audit of an empty host: exit $status: $output"
  assert_output_contains "No running container"
  audit_json --at "$PG_NOW"
  [ "$status" -eq 0 ] && [ "$(cat "$AUDIT_JSON")" = "[]" ] || pg_fail "empty audit --json: $(cat "$AUDIT_JSON")"

  rm -f "${PG_DB%.db}.idx"
  run "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --at "$PG_NOW"
  [ "$status" -eq 2 ]
  assert_output_contains "policy index"
  run "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --at yesterday
  [ "$status" -eq 2 ]
  assert_output_contains "--at: \`yesterday\` is not an RFC 3339 time"
  run "$PG_CLI" audit --config "$PG_HOOK_CONFIG" extra
  [ "$status" -eq 2 ]
}
