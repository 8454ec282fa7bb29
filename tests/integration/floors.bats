#!/usr/bin/env bats
# Minimum patch levels under runc: a package floor refuses the container, a
# waiver lets it run, and the same waiver stops applying once it expires.

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
  # curl is below the floor; the finding gives the scan its installed version.
  make_trivy_report 1 "$(pg_days_ago 1)" "CVE-2024-2398|curl|7.88.1-10+deb12u3||MEDIUM" \
    >"$BATS_TEST_TMPDIR/report.json"
  FLOOR='.min_versions = {"debian": {"curl": "7.88.1-10+deb12u4"}}'
}

teardown() {
  pg_teardown
}

# waiver ID EXPIRES : a waiver for curl on image 1.
waiver() {
  echo ".waivers = [{\"id\": \"$1\", \"match\": {\"digest\": \"$PG_CONFIG_1\", \"package\": \"curl\"},
    \"expires\": \"$2\", \"reason\": \"curl is not used\", \"owner\": \"team-test\"}]"
}

@test "floors: an installed version below the floor is refused (BELOW_MIN_VERSION)" {
  pg_policy "$FLOOR" >"$PG_POLICY_FILE"
  pg_make_db "$PG_DB" "$PG_POLICY_FILE" "$BATS_TEST_TMPDIR/report.json"
  local b cid
  b=$(make_bundle floor 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "curl 7.88.1-10+deb12u3 is below the minimum 7.88.1-10+deb12u4"
  assert_output_contains "rebuild on a base with curl >= 7.88.1-10+deb12u4"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons BELOW_MIN_VERSION
  assert_log package curl
  assert_log installed 7.88.1-10\\+deb12u3
  assert_log required 7.88.1-10\\+deb12u4
}

@test "floors: a floor the image meets lets it run" {
  pg_policy '.min_versions = {"debian": {"curl": "7.88.1-10+deb12u3"}}' >"$PG_POLICY_FILE"
  pg_make_db "$PG_DB" "$PG_POLICY_FILE" "$BATS_TEST_TMPDIR/report.json"
  local b cid
  b=$(make_bundle met 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
}

@test "floors: a waiver lets the image run, and refuses it again once expired" {
  local expires b cid
  expires=$(pg_rfc3339 $((PG_NOW_EPOCH + 86400)))
  pg_policy "$FLOOR | $(waiver W-9 "$expires")" >"$PG_POLICY_FILE"
  pg_make_db "$PG_DB" "$PG_POLICY_FILE" "$BATS_TEST_TMPDIR/report.json"

  b=$(make_bundle waived 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision allow
  assert_log waiver W-9

  # Two days later the waiver has expired: the same image is refused again.
  b=$(PG_NOW=$(pg_rfc3339 $((PG_NOW_EPOCH + 2 * 86400))) make_bundle expired 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  assert_output_contains "is below the minimum"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons BELOW_MIN_VERSION
  assert_log waiver_expired W-9
}

@test "floors: patchgate check explains the floor and the expired waiver" {
  local expires
  expires=$(pg_rfc3339 $((PG_NOW_EPOCH - 3600)))
  pg_policy "$FLOOR | $(waiver W-10 "$expires")" >"$PG_POLICY_FILE"
  pg_make_db "$PG_DB" "$PG_POLICY_FILE" "$BATS_TEST_TMPDIR/report.json"
  run "$PG_CLI" check --db "$PG_DB" --digest "$PG_CONFIG_1" --at "$PG_NOW" --json
  [ "$status" -eq 1 ] || pg_fail "expected exit 1, got $status: $output"
  [ "$(jq -r .decision <<<"$output")" = deny ]
  [ "$(jq -r '.reasons[0].code' <<<"$output")" = BELOW_MIN_VERSION ]
  [[ "$(jq -r '.reasons[0].remedy' <<<"$output")" == *"curl >= 7.88.1-10+deb12u4"* ]]
  [ "$(jq -r '.waivers_expired[0]' <<<"$output")" = W-10 ]
}
