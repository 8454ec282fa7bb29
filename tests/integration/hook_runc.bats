#!/usr/bin/env bats
# patchgate-hook under runc: real containers from a real (busybox) OCI image,
# decisions checked on the runtime's output and in a real syslog.

load helpers

setup_file() {
  export PG_RUNTIME=runc
  # As runtime-config/runc-hook-snippet.json wires it (hook_crun.bats runs
  # unwired: no --engine).
  export PG_HOOK_ENGINE=runc
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

@test "runc: a freshly scanned image runs, syslog says allow" {
  case_scanned_fresh_runs
}

@test "runc: an unscanned image is refused with the hook's reason (UNSCANNED)" {
  case_unscanned_refused
}

@test "runc: a scan 12 days old is refused under max_scan_age 7d (SCAN_STALE)" {
  case_stale_refused
}

@test "runc: an audit-mode scope lets a stale image run, logged as audit" {
  case_audit_scope_runs
}

@test "runc: a missing policy database refuses the container (hook exit 2)" {
  case_missing_db_refused
}

@test "runc: a missing, truncated, foreign or stale policy index refuses the container (hook exit 2)" {
  case_index_faults_refused
}

@test "runc: a missing policy database with on_error allow runs" {
  case_missing_db_on_error_allow_runs
}

@test "runc: the hook works at the prestart stage too" {
  case_prestart_stage
}

@test "runc: CRI-O's annotations in a bare bundle identify nothing, name nothing, scope nothing" {
  case_crio_keys_not_believed
}

@test "runc: a CRI-O ImageRepoDigests annotation alone is not trusted" {
  case_crio_repodigests_not_trusted
}

@test "runc: configured annotation_keys identify the image" {
  case_annotation_keys
}

@test "runc: an unidentifiable image is refused (UNIDENTIFIED)" {
  case_unidentified_refused
}

@test "runc: syslog_facility is honoured" {
  case_syslog_facility
}

# The hook's own exit codes, without a runtime: 0 allow, 1 deny, 2 error.
@test "hook: exit codes 0/1/2 and the test clock" {
  pg_db_scanned 1
  local ok bad state
  ok=$(make_bundle direct-ok 1)
  bad=$(make_bundle direct-bad 2)
  state=$BATS_TEST_TMPDIR/state.json

  pg_state_json direct-ok "$ok" >"$state"
  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$state"
  [ "$status" -eq 0 ] || pg_fail "allow: exit $status: $output"

  pg_state_json direct-bad "$bad" >"$state"
  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$state"
  [ "$status" -eq 1 ] || pg_fail "deny: exit $status: $output"
  assert_output_contains "patchgate: refused container direct-bad"
  assert_output_contains "has never been scanned"
  # exactly one line of explanation
  [ "$(grep -c . <<<"$output")" -eq 1 ] || pg_fail "expected one line on stderr, got: $output"

  pg_state_json direct-ok "$ok" >"$state"
  # (PATCHGATE_CONFIG selects nothing for the hook: host_trust.bats.)

  # The fixed clock matters: 30 days later the scan is stale.
  run env PATCHGATE_NOW="$(pg_rfc3339 $((PG_NOW_EPOCH + 30 * 86400)))" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$state"
  [ "$status" -eq 1 ] || pg_fail "stale by clock: exit $status: $output"

  pg_hook_config "$BATS_TEST_TMPDIR/nope.db" >"$BATS_TEST_TMPDIR/nodb.json"
  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$BATS_TEST_TMPDIR/nodb.json" <"$state"
  [ "$status" -eq 2 ] || pg_fail "missing db: exit $status: $output"

  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <<<"this is not json"
  [ "$status" -eq 2 ] || pg_fail "garbage state: exit $status: $output"
}

@test "hook: old runc's bundlePath is accepted" {
  pg_db_scanned 1
  local ok state
  ok=$(make_bundle bundlepath 1)
  state=$BATS_TEST_TMPDIR/state.json
  pg_state_json bundlepath "$ok" | jq -c '.bundlePath = .bundle | del(.bundle)' >"$state"
  run env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$state"
  [ "$status" -eq 0 ] || pg_fail "bundlePath: exit $status: $output"
}
