#!/usr/bin/env bats
# What the container's author sizes and names cannot soften a decision nor
# lose its log line (issue: "Trust only what the engine wrote", findings 4
# and 6), under real runc with the decision read from a real rsyslogd.

load helpers

setup_file() {
  export PG_RUNTIME=runc
  pg_require runc || return 1
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

# big_annotations BUNDLE N KB : N annotations of KB kilobytes each.
big_annotations() {
  local b=$1 n=$2 kb=$3
  python3 - "$b/config.json" "$n" "$kb" <<'PY'
import json, sys
path, n, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = json.load(open(path))
for i in range(n):
    c.setdefault("annotations", {})["example.com/pad-%d" % i] = "x" * (kb * 1024)
json.dump(c, open(path, "w"))
PY
}

@test "input: a state over the size limit is refused as INVALID_INPUT even under on_error: allow" {
  pg_db_scanned 1
  pg_hook_config "$PG_DB" '.on_error = "allow"' >"$PG_HOOK_CONFIG"
  local b cid
  b=$(make_bundle big 1)
  big_annotations "$b" 9 120
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "INVALID_INPUT"
  wait_syslog 'patchgate-hook(\[[0-9]+\])?: .*reasons=INVALID_INPUT' >/dev/null || pg_fail "no INVALID_INPUT line"
  assert_log decision deny
  # The same image with a state under the limit runs: the size refused it.
  b=$(make_bundle small 1)
  big_annotations "$b" 2 120
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
}

@test "input: config.json changed after the runtime read it changes nothing: the state's annotations count" {
  pg_db_scanned 1
  pg_hook_config "$PG_DB" '.annotation_keys = ["example.com/image"]' >"$PG_HOOK_CONFIG"
  local b cid
  # The runtime read an annotation naming the unscanned image 2 and passed
  # it in the state; the bundle's author then rewrites config.json to name
  # the scanned image 1.
  b=$(make_bundle swapped 2 "example.com/image=$PG_MANIFEST_2")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  pg_state_json "$cid" "$b" >"$BATS_TEST_TMPDIR/state.json"
  jq --arg d "$PG_MANIFEST_1" '.annotations["example.com/image"] = $d' "$b/config.json" >"$b/config.json.new"
  mv "$b/config.json.new" "$b/config.json"
  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$BATS_TEST_TMPDIR/state.json"
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  wait_decision "$cid"
  assert_log decision deny
  assert_log digest "$PG_MANIFEST_2"
  assert_log reasons UNSCANNED
  # A config.json cut short after the runtime read it is not read at all
  # (only Docker's resolver reads it, for the rootfs: test_resolve
  # docker_bundle_config_malformed): the state decides.
  printf '{"annotations": ' >"$b/config.json"
  cid=$(new_cid)
  jq -c --arg id "$cid" '.id = $id' "$BATS_TEST_TMPDIR/state.json" >"$BATS_TEST_TMPDIR/state2.json"
  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$BATS_TEST_TMPDIR/state2.json"
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  wait_decision "$cid"
  assert_log digest "$PG_MANIFEST_2"
  assert_log reasons UNSCANNED
}

@test "input: a 60,000-character image name still leaves a whole decision line in syslog, within 2 KiB" {
  pg_db_scanned 1
  pg_hook_config "$PG_DB" '.annotation_keys = ["example.com/image"]' >"$PG_HOOK_CONFIG"
  local b cid name len
  name="registry.example.com/$(python3 -c 'print("\u00e9" * 60000)')@$PG_MANIFEST_2"
  b=$(make_bundle longname 2 "example.com/image=$name")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  wait_decision "$cid" || pg_fail "the decision line never reached syslog"
  assert_log decision deny
  assert_log digest "$PG_MANIFEST_2"
  assert_log reasons UNSCANNED
  assert_log engine runc
  [[ $syslog_line == *'[cut]'* ]] || pg_fail "the cut name is not marked: $syslog_line"
  len=$(printf '%s' "${syslog_line#*patchgate-hook}" | wc -c)
  [ "$len" -le 2100 ] || pg_fail "decision line of $len bytes"
  # 100,000 ASCII characters: the fields that say what was decided come first.
  name="registry.example.com/$(head -c 100000 /dev/zero | tr '\0' a)@$PG_MANIFEST_2"
  b=$(make_bundle longascii 2 "example.com/image=$name")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  wait_decision "$cid" || pg_fail "the decision line never reached syslog"
  assert_log decision deny
  assert_log digest "$PG_MANIFEST_2"
  assert_log reasons UNSCANNED
}

@test "input: a refusal on stderr escapes what the tenant named, as the log line does" {
  pg_db_scanned 1
  pg_hook_config "$PG_DB" '.annotation_keys = ["example.com/image"]' >"$PG_HOOK_CONFIG"
  local b cid
  b=$(make_bundle newline 2 "example.com/image=evil
decision=allow forged@$PG_MANIFEST_2")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  wait_decision "$cid"
  assert_log decision deny
  # runc quotes what a hook prints, so read the hook's own stderr.
  pg_state_json "$cid-direct" "$b" >"$BATS_TEST_TMPDIR/state.json"
  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$BATS_TEST_TMPDIR/state.json"
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  assert_output_contains 'image evil\x0adecision=allow forged@'
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ] || pg_fail "more than one line on stderr: $output"
}

@test "input: an image's own name cannot select a softer scope (mode: off), only a stricter one" {
  pg_db_scanned 1
  pg_policy '.scopes = [
      {name: "sandbox", match: {repository: "registry.example.com/sandbox/*"}, mode: "off"},
      {name: "payments", match: {repository: "registry.example.com/payments/*"}, max_scan_age: "1h"}]' \
    >"$PG_POLICY_FILE"
  "$PG_CLI" policy set --db "$PG_DB" "$PG_POLICY_FILE" >/dev/null
  run "$PG_CLI" policy validate "$PG_POLICY_FILE"
  assert_success
  assert_output_contains "scope sandbox is softer than the defaults"
  refute_output_contains "scope payments is softer"
  pg_hook_config "$PG_DB" '.annotation_keys = ["example.com/image"]' >"$PG_HOOK_CONFIG"
  local b cid
  # Image 2 was never scanned; whoever starts it names it into the sandbox.
  b=$(make_bundle sandbox 2 "example.com/image=registry.example.com/sandbox/evil@$PG_MANIFEST_2")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision deny
  assert_log scope defaults
  assert_log reasons UNSCANNED
  # Image 1, scanned a day ago, named into the stricter payments scope.
  b=$(make_bundle payments 1 "example.com/image=registry.example.com/payments/api@$PG_MANIFEST_1")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  wait_decision "$cid"
  assert_log decision deny
  assert_log scope payments
  assert_log reasons SCAN_STALE
}
