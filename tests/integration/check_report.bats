#!/usr/bin/env bats
# `patchgate check --report`: shift left.  A build pipeline judges a fresh
# Trivy or Grype report against the stored policy without storing it, and
# gets the hook's exit codes and the very reasons production will give once
# the report is imported.  On the real reports.

load helpers

NGINX_ID=sha256:be69f2940aaf64fdf50c9c99420cbd57e10ee655ec7204df1c407e9af63d0cc1

setup_file() {
  pg_setup_file || return 1
  pg_skipping && return 0
  REPORTS=$(cd "$PG_SRC/../shared/testdata/reports" && pwd) || pg_fail "no real reports" || return 1
  export REPORTS
}

setup() {
  pg_setup
  # Scans may be 30 days old; fixable CRITICAL 7 days, HIGH 30.
  pg_policy '.version = "shift-left-1"
    | .defaults.max_scan_age = "30d"
    | .defaults.fixable_grace = {"CRITICAL": "7d", "HIGH": "30d"}' >"$PG_POLICY_FILE"
  # The database knows other images, not the ones judged here.
  pg_make_db "$PG_DB" "$PG_POLICY_FILE" "$REPORTS/grype/check_all_fields.json" || return 1
  sha256sum "$PG_DB" >"$BATS_TEST_TMPDIR/db.sum"
}

teardown() {
  # Judging never writes: the database is as it was, with nothing beside it.
  if [ -f "$BATS_TEST_TMPDIR/db.sum" ]; then
    sha256sum -c --quiet "$BATS_TEST_TMPDIR/db.sum" || pg_fail "check --report changed the database" || return 1
    [ -z "$(find "$(dirname "$PG_DB")" -maxdepth 1 -name '.policy.db.new.*')" ] || return 1
  fi
  pg_teardown
}

@test "check --report: deny, with the reasons the hook gives once the report is imported" {
  local r
  for r in trivy/nginx-debian12.json grype/nginx-debian12.json; do
    run "$PG_CLI" check --db "$PG_DB" --report "$REPORTS/$r" --at 2025-06-20T00:00:00Z --json
    [ "$status" -eq 1 ] || pg_fail "$r: exit $status: $output"
    jq -S . <<<"$output" >"$BATS_TEST_TMPDIR/judged.json"
    [ "$(jq -r .decision <<<"$output")" = deny ]
    jq -e '[.reasons[].code] | index("FIXABLE_CRITICAL")' <<<"$output" >/dev/null
    # Production, later: the report imported into a copy, the image decided.
    cp "$PG_DB" "$BATS_TEST_TMPDIR/later.db"
    "$PG_CLI" import --db "$BATS_TEST_TMPDIR/later.db" "$REPORTS/$r" >/dev/null
    run "$PG_CLI" check --db "$BATS_TEST_TMPDIR/later.db" --digest "$NGINX_ID" --at 2025-06-20T00:00:00Z --json
    [ "$status" -eq 1 ]
    jq -S . <<<"$output" >"$BATS_TEST_TMPDIR/later.json"
    diff -u "$BATS_TEST_TMPDIR/later.json" "$BATS_TEST_TMPDIR/judged.json" || pg_fail "$r: judged and imported differ"
  done
}

@test "check --report: allow, and audit in an audit scope" {
  run "$PG_CLI" check --db "$PG_DB" --report "$REPORTS/trivy/clamav-alpine.json" --at 2025-06-10T00:00:00Z
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  grep -q '^decision: allow ' <<<"$output"
  grep -q '^image:    docker.io/clamav/clamav:latest$' <<<"$output"

  pg_policy '.defaults.mode = "audit" | .defaults.fixable_grace = {"CRITICAL": "7d"}' >"$BATS_TEST_TMPDIR/audit.json"
  pg_make_db "$BATS_TEST_TMPDIR/audit.db" "$BATS_TEST_TMPDIR/audit.json" || return 1
  run "$PG_CLI" check --db "$BATS_TEST_TMPDIR/audit.db" --report "$REPORTS/trivy/nginx-debian12.json" \
    --at 2025-06-20T00:00:00Z --json
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$(jq -r .decision <<<"$output")" = audit ]
}

@test "check --report: a report on stdin" {
  run bash -c "'$PG_CLI' check --db '$PG_DB' --report - --at 2025-06-20T00:00:00Z <'$REPORTS/trivy/nginx-debian12.json'"
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  grep -q '^FIXABLE_CRITICAL: ' <<<"$output"
}

@test "check --report: errors are exit 2, never a decision" {
  run "$PG_CLI" check --db "$PG_DB" --report "$REPORTS/trivy/legacy_many_vulns.json"
  [ "$status" -eq 2 ]
  grep -q 'legacy pre-SchemaVersion Trivy output' <<<"$output"
  run "$PG_CLI" check --db "$PG_DB" --report /etc/passwd
  [ "$status" -eq 2 ]
  run "$PG_CLI" check --db "$PG_DB" --report "$BATS_TEST_TMPDIR/missing.json"
  [ "$status" -eq 2 ]
  # A report without any image digest: the import would refuse it too.
  jq '.Metadata.ImageID = null | .Metadata.RepoDigests = []' "$REPORTS/trivy/nginx-debian12.json" \
    >"$BATS_TEST_TMPDIR/nodigest.json"
  run "$PG_CLI" check --db "$PG_DB" --report "$BATS_TEST_TMPDIR/nodigest.json"
  [ "$status" -eq 2 ]
  grep -q 'no image digest' <<<"$output"
  # Two reports where one is judged.
  cat "$REPORTS/trivy/nginx-debian12.json" "$REPORTS/trivy/clamav-alpine.json" >"$BATS_TEST_TMPDIR/two.json"
  run bash -c "'$PG_CLI' check --db '$PG_DB' --report - <'$BATS_TEST_TMPDIR/two.json'"
  [ "$status" -eq 2 ]
  grep -q 'more than one report' <<<"$output"
  # No database: an error, and none is created.
  run "$PG_CLI" check --db "$BATS_TEST_TMPDIR/none.db" --report "$REPORTS/trivy/nginx-debian12.json"
  [ "$status" -eq 2 ]
  [ ! -e "$BATS_TEST_TMPDIR/none.db" ]
}

@test "check --help names --report" {
  run "$PG_CLI" check --help
  [ "$status" -eq 0 ]
  grep -q -- '--report FILE' <<<"$output"
}

@test "check --report: the hook config's database when no --db" {
  pg_hook_config "$PG_DB" >"$PG_HOOK_CONFIG"
  run "$PG_CLI" check --config "$PG_HOOK_CONFIG" --report "$REPORTS/trivy/nginx-debian12.json" --at 2025-06-20T00:00:00Z
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  grep -q '(mode enforce, scope defaults, policy shift-left-1)' <<<"$output"
}
