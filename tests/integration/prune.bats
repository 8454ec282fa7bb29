#!/usr/bin/env bats
# Retention: `patchgate prune` and pruning on import (`import --keep`, the
# hook config's scan_history) keep what decisions read, give the space back,
# and the pruned database decides and explains exactly as before.  On the
# real nginx reports, rescanned daily (their scan times moved).

load helpers

NGINX_ID=sha256:be69f2940aaf64fdf50c9c99420cbd57e10ee655ec7204df1c407e9af63d0cc1
CLAMAV_ID=sha256:167b17b888895622c871cc31def407f0daf57e852550db4413acf5d498563422
T0=1748736000 # 2025-06-01T00:00:00Z

setup_file() {
  pg_setup_file || return 1
  pg_skipping && return 0
  REPORTS=$(cd "$PG_SRC/../shared/testdata/reports" && pwd) || pg_fail "no real reports" || return 1
  export REPORTS
}

setup() {
  pg_setup
  pg_policy '.version = "retention-1"
    | .defaults.max_scan_age = "7d"
    | .defaults.superseded_grace = "3d"
    | .defaults.fixable_grace = {"CRITICAL": "7d", "HIGH": "14d", "MEDIUM": "30d", "NEGLIGIBLE": "90d"}' \
    >"$PG_POLICY_FILE"
}

teardown() {
  pg_teardown
}

# rescan DAY : the nginx (Trivy and Grype) and clamav (Trivy) reports as
# scanned DAY days after T0, one JSON document a line.  On day 0 nginx's
# fixes were not known yet: they became known on day 1.
rescan() {
  local at
  at=$(pg_rfc3339 $((T0 + $1 * 86400)))
  jq -c --arg at "$at" --argjson day "$1" '.CreatedAt = $at
      | if $day == 0 then .Results[].Vulnerabilities[]? |= del(.FixedVersion) else . end' \
    "$REPORTS/trivy/nginx-debian12.json"
  jq -c --arg at "$at" '.descriptor.timestamp = $at' "$REPORTS/grype/nginx-debian12.json"
  jq -c --arg at "$at" '.CreatedAt = $at' "$REPORTS/trivy/clamav-alpine.json"
}

# decisions DB : check --json for both images at several instants, one a line.
decisions() {
  local d t
  for d in "$NGINX_ID" "$CLAMAV_ID"; do
    for t in 0 1 10 29 31 40 70 200; do
      "$PG_CLI" check --db "$1" --digest "$d" --at "$(pg_rfc3339 $((T0 + t * 86400 + 3600)))" --json ||
        [ $? -eq 1 ] || return 1
    done
  done
}

scans() { sqlite3 "$1" 'SELECT count(*) FROM scans'; }
size() { stat -c %s "$1"; }

@test "prune: a month of daily rescans shrinks to one scan per image and scanner, deciding as before" {
  local day
  for day in $(seq 0 29); do rescan "$day"; done >"$BATS_TEST_TMPDIR/month.jsonl"
  rescan 29 >"$BATS_TEST_TMPDIR/one.jsonl"
  "$PG_CLI" import --db "$PG_DB" - <"$BATS_TEST_TMPDIR/month.jsonl" >/dev/null
  "$PG_CLI" policy set --db "$PG_DB" "$PG_POLICY_FILE" >/dev/null
  "$PG_CLI" import --db "$BATS_TEST_TMPDIR/one.db" - <"$BATS_TEST_TMPDIR/one.jsonl" >/dev/null
  "$PG_CLI" policy set --db "$BATS_TEST_TMPDIR/one.db" "$PG_POLICY_FILE" >/dev/null
  [ "$(scans "$PG_DB")" -eq 90 ]
  decisions "$PG_DB" >"$BATS_TEST_TMPDIR/before.jsonl"
  # The decisions say something worth comparing.
  grep -q FIXABLE_CRITICAL "$BATS_TEST_TMPDIR/before.jsonl"
  grep -q SCAN_STALE "$BATS_TEST_TMPDIR/before.jsonl"
  grep -q 'first listed it' "$BATS_TEST_TMPDIR/before.jsonl"
  local full one
  full=$(size "$PG_DB")
  one=$(size "$BATS_TEST_TMPDIR/one.db")

  run env PATCHGATE_NOW="$(pg_rfc3339 $((T0 + 40 * 86400)))" "$PG_CLI" prune --db "$PG_DB"
  [ "$status" -eq 0 ] || pg_fail "prune: exit $status: $output"
  grep -q '^pruned 87 scans ' <<<"$output"
  [ "$(scans "$PG_DB")" -eq 3 ]
  decisions "$PG_DB" >"$BATS_TEST_TMPDIR/after.jsonl"
  diff -u "$BATS_TEST_TMPDIR/before.jsonl" "$BATS_TEST_TMPDIR/after.jsonl" || pg_fail "a pruned database decides otherwise"
  # The space is given back: about one month's round, not thirty.
  echo "# a month of rescans: $full bytes, pruned: $(size "$PG_DB") bytes, one round: $one bytes" >&3
  # (The schema's fixed part, triggers and tables, is a share of one round.)
  [ "$(size "$PG_DB")" -lt $((full / 4)) ]
  [ "$(size "$PG_DB")" -le $((one * 5 / 4)) ]
  # Still a database the hook reads, and nothing left beside it.
  [ "$(sqlite3 "$PG_DB" 'PRAGMA integrity_check')" = ok ]
  [ -z "$(find "$(dirname "$PG_DB")" -maxdepth 1 -name '.policy.db.new.*')" ]
}

@test "prune: --keep keeps the recent history too" {
  local day
  for day in $(seq 0 29); do rescan "$day"; done | "$PG_CLI" import --db "$PG_DB" - >/dev/null
  "$PG_CLI" policy set --db "$PG_DB" "$PG_POLICY_FILE" >/dev/null
  decisions "$PG_DB" >"$BATS_TEST_TMPDIR/before.jsonl"
  # Now is day 30: the scans of days 20..29 stay, 10 rounds of 3 reports.
  run env PATCHGATE_NOW="$(pg_rfc3339 $((T0 + 30 * 86400)))" "$PG_CLI" prune --db "$PG_DB" --keep 10d
  [ "$status" -eq 0 ]
  [ "$(scans "$PG_DB")" -eq 30 ]
  decisions "$PG_DB" >"$BATS_TEST_TMPDIR/after.jsonl"
  diff -u "$BATS_TEST_TMPDIR/before.jsonl" "$BATS_TEST_TMPDIR/after.jsonl"
}

@test "prune on import: the hook config's scan_history, and --keep over it" {
  local day
  pg_hook_config "$PG_DB" '.scan_history = "7d"' >"$PG_HOOK_CONFIG"
  "$PG_CLI" policy set --db "$PG_DB" "$PG_POLICY_FILE" >/dev/null
  for day in $(seq 0 19); do
    rescan "$day" >"$BATS_TEST_TMPDIR/day.jsonl"
    run env PATCHGATE_NOW="$(pg_rfc3339 $((T0 + day * 86400 + 3600)))" \
      "$PG_CLI" import --db "$PG_DB" --config "$PG_HOOK_CONFIG" - <"$BATS_TEST_TMPDIR/day.jsonl"
    [ "$status" -eq 0 ] || pg_fail "day $day: exit $status: $output"
  done
  # Day 19 at 01:00 keeps what was scanned since day 12 01:00: days 13..19.
  grep -q '; pruned 3 old scans$' <<<"$output"
  [ "$(scans "$PG_DB")" -eq 21 ]
  # Every day imported into one that keeps everything decides the same.
  for day in $(seq 0 19); do rescan "$day"; done | "$PG_CLI" import --db "$BATS_TEST_TMPDIR/all.db" - >/dev/null
  "$PG_CLI" policy set --db "$BATS_TEST_TMPDIR/all.db" "$PG_POLICY_FILE" >/dev/null
  [ "$(scans "$BATS_TEST_TMPDIR/all.db")" -eq 60 ]
  decisions "$BATS_TEST_TMPDIR/all.db" >"$BATS_TEST_TMPDIR/all.jsonl"
  decisions "$PG_DB" >"$BATS_TEST_TMPDIR/pruned.jsonl"
  diff -u "$BATS_TEST_TMPDIR/all.jsonl" "$BATS_TEST_TMPDIR/pruned.jsonl"
  # --keep all overrides the config: nothing pruned.
  rescan 20 | PATCHGATE_NOW="$(pg_rfc3339 $((T0 + 20 * 86400 + 3600)))" \
    "$PG_CLI" import --db "$PG_DB" --config "$PG_HOOK_CONFIG" --keep all - >/dev/null
  [ "$(scans "$PG_DB")" -eq 24 ]
}

@test "prune on import is off by default" {
  local day
  for day in 0 1 2; do
    rescan "$day" | env -u PATCHGATE_CONFIG "$PG_CLI" import --db "$PG_DB" - >/dev/null
  done
  [ "$(scans "$PG_DB")" -eq 9 ]
}

@test "prune: errors" {
  run "$PG_CLI" prune --db "$BATS_TEST_TMPDIR/none.db"
  [ "$status" -eq 2 ]
  [ ! -e "$BATS_TEST_TMPDIR/none.db" ]
  rescan 0 | "$PG_CLI" import --db "$PG_DB" - >/dev/null
  run "$PG_CLI" prune --db "$PG_DB" --keep soon
  [ "$status" -eq 2 ]
  grep -q 'not a duration' <<<"$output"
  run "$PG_CLI" import --db "$PG_DB" --keep soon "$REPORTS/trivy/clamav-alpine.json"
  [ "$status" -eq 2 ]
  pg_hook_config "$PG_DB" '.scan_history = "forever"' >"$PG_HOOK_CONFIG"
  run "$PG_CLI" import --db "$PG_DB" --config "$PG_HOOK_CONFIG" "$REPORTS/trivy/clamav-alpine.json"
  [ "$status" -eq 2 ]
  grep -q 'scan_history' <<<"$output"
  [ "$(scans "$PG_DB")" -eq 3 ]
}

@test "prune --help" {
  run "$PG_CLI" prune --help
  [ "$status" -eq 0 ]
  grep -q 'Usage: patchgate prune' <<<"$output"
  run "$PG_CLI" import --help
  grep -q -- '--keep DURATION|all' <<<"$output"
}
