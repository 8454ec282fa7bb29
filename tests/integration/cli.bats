#!/usr/bin/env bats
# The patchgate admin CLI against real scanner reports
# ($PATCHGATE_SRC/../shared/testdata/reports) and the local test image.

load helpers

# The nginx:latest image (Debian 12.11) that trivy/nginx-debian12.json and
# grype/nginx-debian12.json scanned on 2025-06-08 (image built 2025-04-16).
# It has one fixable CRITICAL (CVE-2025-48174, libavif15 0.11.1-1, fixed in
# 0.11.1-1+deb12u1) and fixable MEDIUMs.
NGINX_ID=sha256:be69f2940aaf64fdf50c9c99420cbd57e10ee655ec7204df1c407e9af63d0cc1
NGINX_MANIFEST=sha256:88fd35a248a561e1bff5add8ff4825bec00a9af65c83aa28b9a51f9e11c9cd6f
NGINX_REPO_DIGEST=nginx@sha256:fb39280b7b9eba5727c884a3c7810002e69e8f961cc373b89c92f14961d903a0
CLAMAV_ID=sha256:167b17b888895622c871cc31def407f0daf57e852550db4413acf5d498563422

setup_file() {
  pg_setup_file || return 1
  pg_skipping && return 0
  REPORTS=$PG_SRC/../shared/testdata/reports
  [ -d "$REPORTS" ] || pg_fail "no real reports at $REPORTS" || return 1
  REPORTS=$(cd "$REPORTS" && pwd)
  export REPORTS
}

setup() {
  pg_setup
  # nginx policy: scans may be 30 days old, fixable CRITICAL 7 days, HIGH 30.
  pg_policy '.version = "cli-1"
    | .defaults.max_scan_age = "30d"
    | .defaults.fixable_grace = {"CRITICAL": "7d", "HIGH": "30d"}' >"$BATS_TEST_TMPDIR/nginx-policy.json"
}

teardown() {
  pg_teardown
}

# cli ARGS... : the CLI with stdout only (stderr to $BATS_TEST_TMPDIR/stderr).
cli() {
  "$PG_CLI" "$@" 2>"$BATS_TEST_TMPDIR/stderr"
}

# A database with both nginx reports and the nginx policy.
nginx_db() {
  pg_make_db "$PG_DB" "${1:-$BATS_TEST_TMPDIR/nginx-policy.json}" \
    "$REPORTS/trivy/nginx-debian12.json" "$REPORTS/grype/nginx-debian12.json"
}

# json_codes : the sorted reason codes of the --json output in $output.
json_codes() {
  jq -r '[.reasons[].code] | sort | join(",")' <<<"$output"
}

import_ok() {
  run "$PG_CLI" import --db "$PG_DB" "$REPORTS/$1"
  [ "$status" -eq 0 ] || pg_fail "import $1: exit $status: $output"
}

# --- import ---------------------------------------------------------------

@test "import: trivy/nginx-debian12.json" { import_ok trivy/nginx-debian12.json; }
@test "import: trivy/clamav-alpine.json" { import_ok trivy/clamav-alpine.json; }
@test "import: trivy/all_statuses.json" { import_ok trivy/all_statuses.json; }
@test "import: trivy/rockylinux-8.json" { import_ok trivy/rockylinux-8.json; }
@test "import: grype/nginx-debian12.json" { import_ok grype/nginx-debian12.json; }
@test "import: grype/clamav-alpine.json" { import_ok grype/clamav-alpine.json; }
@test "import: grype/check_all_fields.json" { import_ok grype/check_all_fields.json; }
@test "import: grype/fix_not_available.json" { import_ok grype/fix_not_available.json; }

@test "import: no real report is left out of these tests" {
  local f rel
  for f in "$REPORTS"/*/*.json; do
    rel=${f#"$REPORTS"/}
    grep -qF "$rel" "$BATS_TEST_FILENAME" || pg_fail "report $rel has no import test"
  done
}

@test "import: every report at once, then all images are known" {
  local f files=()
  for f in "$REPORTS"/*/*.json; do
    [ "$(basename "$f")" = legacy_many_vulns.json ] || files+=("$f")
  done
  run "$PG_CLI" import --db "$PG_DB" "${files[@]}"
  assert_success
  "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/nginx-policy.json"
  for d in "$NGINX_ID" "$CLAMAV_ID" \
    sha256:210996f98b856d7cd00496ddbe9412e73f1c714c95de09661e07b4e43648f9ab; do
    run cli check --db "$PG_DB" --digest "$d" --at 2025-06-10T00:00:00Z --json
    jq -e . >/dev/null <<<"$output" || pg_fail "check --json for $d is not JSON: $output"
    [[ ,$(json_codes), != *,UNSCANNED,* ]] || pg_fail "$d unscanned after import: $output"
  done
}

@test "import: the legacy (pre-SchemaVersion) Trivy report fails clearly and changes nothing" {
  nginx_db
  sqlite3 "$PG_DB" .dump >"$BATS_TEST_TMPDIR/before.sql"
  run "$PG_CLI" import --db "$PG_DB" "$REPORTS/trivy/legacy_many_vulns.json"
  [ "$status" -eq 2 ] || pg_fail "expected exit 2, got $status: $output"
  assert_output_contains "legacy_many_vulns.json"
  assert_output_matches "[Ss]chema|[Ll]egacy|[Uu]nsupported|[Uu]nrecogni[sz]ed|[Uu]nknown"
  [ "$(grep -c . <<<"$output")" -le 3 ] || pg_fail "expected a short message, got: $output"
  sqlite3 "$PG_DB" .dump >"$BATS_TEST_TMPDIR/after.sql"
  diff -u "$BATS_TEST_TMPDIR/before.sql" "$BATS_TEST_TMPDIR/after.sql" ||
    pg_fail "the failed import changed the database"
}

@test "import: a directory, and a stream of concatenated reports on stdin" {
  mkdir "$BATS_TEST_TMPDIR/dir"
  cp "$REPORTS/trivy/nginx-debian12.json" "$REPORTS/grype/clamav-alpine.json" "$BATS_TEST_TMPDIR/dir/"
  run "$PG_CLI" import --db "$PG_DB" "$BATS_TEST_TMPDIR/dir"
  assert_success

  local db2=$BATS_TEST_TMPDIR/stream.db
  run bash -c 'cat "$1" "$2" | "$3" import --db "$4" -' _ \
    "$REPORTS/trivy/nginx-debian12.json" "$REPORTS/grype/clamav-alpine.json" "$PG_CLI" "$db2"
  assert_success
  "$PG_CLI" policy set --db "$db2" "$BATS_TEST_TMPDIR/nginx-policy.json"
  for d in "$NGINX_ID" "$CLAMAV_ID"; do
    run cli check --db "$db2" --digest "$d" --at 2025-06-10T00:00:00Z --json
    [[ ,$(json_codes), != *,UNSCANNED,* ]] || pg_fail "$d unscanned after import -: $output"
  done
}

# --- check ----------------------------------------------------------------

@test "check: nginx two days after its scan is allowed (exit 0)" {
  nginx_db
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-10T00:00:00Z --json
  assert_success
  [ "$(jq -r .decision <<<"$output")" = allow ] || pg_fail "decision: $output"
  [ "$(jq '.reasons | length' <<<"$output")" -eq 0 ] || pg_fail "reasons: $output"
  # and without --json: exit code and a human line
  run "$PG_CLI" check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-10T00:00:00Z
  assert_success
  assert_output_matches "[Aa]llow"
}

@test "check: manifest digest, repo digest and tag all find the nginx image" {
  nginx_db
  local how
  for how in "--digest $NGINX_MANIFEST" "--image $NGINX_REPO_DIGEST" "--image nginx:latest"; do
    # shellcheck disable=SC2086
    run cli check --db "$PG_DB" $how --at 2025-06-10T00:00:00Z --json
    [ "$status" -eq 0 ] && [ "$(jq -r .decision <<<"$output")" = allow ] ||
      pg_fail "check $how: exit $status: $output $(cat "$BATS_TEST_TMPDIR/stderr")"
  done
}

@test "check: a fix available for 12 days on a CRITICAL denies (FIXABLE_CRITICAL, exit 1)" {
  nginx_db
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-20T00:00:00Z --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  [ "$(jq -r .decision <<<"$output")" = deny ] || pg_fail "decision: $output"
  [ "$(json_codes)" = FIXABLE_CRITICAL ] || pg_fail "codes $(json_codes): $output"
  jq -e '.reasons[] | select(.code == "FIXABLE_CRITICAL") | .detail | test("CVE-2025-48174")' \
    <<<"$output" >/dev/null || pg_fail "detail does not name CVE-2025-48174: $output"
}

@test "check: a stale scan adds SCAN_STALE" {
  pg_policy '.version = "cli-2" | .defaults.fixable_grace = {"CRITICAL": "7d"}' >"$PG_POLICY_FILE"
  nginx_db "$PG_POLICY_FILE"
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-21T00:00:00Z --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  [ "$(json_codes)" = FIXABLE_CRITICAL,SCAN_STALE ] || pg_fail "codes $(json_codes): $output"
  # and 2 days after the scan it is neither stale nor past the grace
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-10T00:00:00Z --json
  assert_success
}

@test "check: image age, minimum versions" {
  pg_policy '.version = "cli-3" | .defaults.max_scan_age = "30d" | .defaults.max_image_age = "30d"
    | .min_versions = {"debian": {"libavif15": "0.11.1-1+deb12u1"}}' >"$PG_POLICY_FILE"
  nginx_db "$PG_POLICY_FILE"
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-10T00:00:00Z --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  [ "$(json_codes)" = BELOW_MIN_VERSION,IMAGE_TOO_OLD ] || pg_fail "codes $(json_codes): $output"
  jq -e '.reasons[] | select(.code == "BELOW_MIN_VERSION") | .detail | test("libavif15")' \
    <<<"$output" >/dev/null || pg_fail "detail does not name libavif15: $output"
}

@test "check: a waiver lifts FIXABLE_CRITICAL until it expires" {
  local base='.version = "cli-4" | .defaults.max_scan_age = "30d" | .defaults.fixable_grace = {"CRITICAL": "7d"}'
  pg_policy "$base"' | .waivers = [{"id": "W-1", "match": {"repository": "*nginx*", "cve": "CVE-2025-48174"},
      "expires": "2025-07-01T00:00:00Z", "reason": "test", "owner": "tests"}]' >"$PG_POLICY_FILE"
  nginx_db "$PG_POLICY_FILE"
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-20T00:00:00Z --json
  assert_success
  [ "$(jq -r .decision <<<"$output")" = allow ] || pg_fail "decision: $output"
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-07-02T00:00:00Z --json
  [ "$status" -eq 1 ] || pg_fail "expired waiver: exit $status: $output"
  [ "$(json_codes)" = FIXABLE_CRITICAL ] || pg_fail "codes $(json_codes): $output"
}

@test "check: an unknown digest is UNSCANNED (exit 1)" {
  nginx_db
  run cli check --db "$PG_DB" --digest "sha256:$(printf '0%.0s' {1..64})" --at 2025-06-10T00:00:00Z --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  [ "$(jq -r .decision <<<"$output")" = deny ] || pg_fail "decision: $output"
  [ "$(json_codes)" = UNSCANNED ] || pg_fail "codes $(json_codes): $output"
}

@test "check: --bundle and --state decide like the hook" {
  pg_policy '.scopes = [{"name": "audit", "match": {"namespace": "audit-ns"}, "mode": "audit"}]' >"$PG_POLICY_FILE"
  pg_db_scanned 1
  local b1 b2 b3
  PG_HOOK_STAGE=none
  b1=$(make_bundle scanned 1)
  b2=$(make_bundle unscanned 2)
  run cli check --db "$PG_DB" --bundle "$b1" --at "$PG_NOW" --json
  assert_success
  [ "$(jq -r .decision <<<"$output")" = allow ] || pg_fail "scanned bundle: $output"

  run cli check --db "$PG_DB" --bundle "$b2" --at "$PG_NOW" --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  [ "$(json_codes)" = UNSCANNED ] || pg_fail "codes $(json_codes): $output"

  pg_state_json c1 "$b1" >"$BATS_TEST_TMPDIR/state.json"
  run cli check --db "$PG_DB" --state "$BATS_TEST_TMPDIR/state.json" --at "$PG_NOW" --json
  assert_success

  # 12 days later the scan is stale; in the audit namespace that is audit.
  local later
  later=$(pg_rfc3339 $((PG_NOW_EPOCH + 11 * 86400)))
  run cli check --db "$PG_DB" --bundle "$b1" --at "$later" --json
  [ "$status" -eq 1 ] || pg_fail "stale: exit $status: $output"
  [ "$(json_codes)" = SCAN_STALE ] || pg_fail "codes $(json_codes): $output"
  # A namespace counts only from a proven CRI engine's own key: with the
  # containerd wiring (--engine, as the hook's) its sandbox namespace does.
  b3=$(make_bundle audit 1 io.kubernetes.cri.container-type=container \
    "io.kubernetes.cri.image-name=$PG_REPO@$PG_MANIFEST_1" io.kubernetes.cri.sandbox-namespace=audit-ns)
  pg_state_json c3 "$b3" >"$BATS_TEST_TMPDIR/state.json"
  run cli check --db "$PG_DB" --state "$BATS_TEST_TMPDIR/state.json" --at "$later" --json --engine containerd
  assert_success
  [ "$(jq -r .decision <<<"$output")" = audit ] || pg_fail "audit: $output"
  [ "$(json_codes)" = SCAN_STALE ] || pg_fail "codes $(json_codes): $output"
  # The same bundle checked as the runc wiring sees it: no namespace.
  run cli check --db "$PG_DB" --state "$BATS_TEST_TMPDIR/state.json" --at "$later" --json --engine runc
  [ "$status" -eq 1 ] || pg_fail "runc wiring: exit $status: $output"
  run cli check --db "$PG_DB" --state "$BATS_TEST_TMPDIR/state.json" --at "$later" --engine cri-o
  [ "$status" -eq 2 ] || pg_fail "unknown engine: exit $status: $output"
}

@test "check: a missing database is an error (exit 2)" {
  run "$PG_CLI" check --db "$BATS_TEST_TMPDIR/none.db" --digest "$NGINX_ID"
  [ "$status" -eq 2 ] || pg_fail "exit $status: $output"
  [ ! -e "$BATS_TEST_TMPDIR/none.db" ] || pg_fail "check created the database"
}

# --- status ---------------------------------------------------------------

@test "status: policy version, counts and the newest scan" {
  local f
  for f in "$REPORTS"/*/*.json; do
    [ "$(basename "$f")" = legacy_many_vulns.json ] && continue
    "$PG_CLI" import --db "$PG_DB" "$f" >/dev/null
  done
  "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/nginx-policy.json"
  run "$PG_CLI" status --db "$PG_DB"
  assert_success
  assert_output_contains cli-1
  # newest scan: grype nginx, 2025-06-08T16:39:32Z
  assert_output_contains 2025-06-08
  assert_output_matches "[0-9]"
}

# --- policy ---------------------------------------------------------------

@test "policy: a malformed policy is refused and the stored one stays" {
  "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/nginx-policy.json"
  run cli policy show --db "$PG_DB"
  assert_success
  assert_output_contains cli-1
  local before=$output bad
  printf '{"version": "broken", "defaults": {' >"$BATS_TEST_TMPDIR/bad-syntax.json"
  pg_policy '.version = "bad-duration" | .defaults.max_scan_age = "seven days"' >"$BATS_TEST_TMPDIR/bad-duration.json"
  pg_policy '.version = "bad-mode" | .defaults.mode = "enforcing"' >"$BATS_TEST_TMPDIR/bad-mode.json"
  pg_policy '.version = "bad-waiver" | .waivers = [{"id": "W-9", "match": {"cve": "CVE-2025-1"}, "reason": "r", "owner": "o"}]' \
    >"$BATS_TEST_TMPDIR/bad-waiver.json"
  for bad in bad-syntax bad-duration bad-mode bad-waiver; do
    run "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/$bad.json"
    [ "$status" -ne 0 ] || pg_fail "policy set accepted $bad.json"
    run cli policy show --db "$PG_DB"
    [ "$output" = "$before" ] || pg_fail "policy show changed after $bad.json: $output"
  done
}

@test "policy validate: names the bad field" {
  pg_policy '.defaults.max_scan_age = "seven days"' >"$BATS_TEST_TMPDIR/bad.json"
  run "$PG_CLI" policy validate "$BATS_TEST_TMPDIR/bad.json"
  [ "$status" -ne 0 ] || pg_fail "validate accepted a bad duration"
  assert_output_contains max_scan_age

  pg_policy '.defaults.mode = "enforcing"' >"$BATS_TEST_TMPDIR/bad2.json"
  run "$PG_CLI" policy validate "$BATS_TEST_TMPDIR/bad2.json"
  [ "$status" -ne 0 ] || pg_fail "validate accepted mode enforcing"
  assert_output_contains mode

  pg_policy '.waivers = [{"id": "W-9", "match": {"cve": "CVE-2025-1"}, "reason": "r", "owner": "o"}]' >"$BATS_TEST_TMPDIR/bad3.json"
  run "$PG_CLI" policy validate "$BATS_TEST_TMPDIR/bad3.json"
  [ "$status" -ne 0 ] || pg_fail "validate accepted a waiver without expiry"
  assert_output_contains expires

  run "$PG_CLI" policy validate "$BATS_TEST_TMPDIR/nginx-policy.json"
  assert_success
}

# --- vercmp and help ------------------------------------------------------

@test "vercmp dpkg agrees with dpkg --compare-versions" {
  pg_require dpkg
  local pair a b want op
  for pair in "1:1.2.13.dfsg-1 1.2.14-1" "1.0~rc1 1.0" "252.36-1~deb12u1 252.38-1~deb12u1" \
    "1.0 1.0-0" "0.11.1-1 0.11.1-1+deb12u1" "7.88.1-10+deb12u4 7.88.1-10+deb12u12" "1.0a 1.0+"; do
    read -r a b <<<"$pair"
    if dpkg --compare-versions "$a" lt "$b"; then
      want='<'
    elif dpkg --compare-versions "$a" eq "$b"; then
      want='='
    else
      want='>'
    fi
    op=$("$PG_CLI" vercmp dpkg "$a" "$b") || true
    [ "$op" = "$want" ] || pg_fail "vercmp dpkg $a $b: got '$op', dpkg says '$want'"
  done
}

@test "vercmp rpm and apk on known vectors" {
  local v a op b got
  for v in "rpm 1:1.1.1k-4.el8 < 1:1.1.1k-5.el8_5" "rpm 1.0~rc1 < 1.0" "rpm 1.0^git1 > 1.0" \
    "rpm 2.0 < 1:1.0" "rpm 1.0 = 1.0" "apk 1.0.4-r3 < 1.0.4-r4" "apk 1.1 > 1.1_alpha1" \
    "apk 2.2.39-r1 > 1.0.4-r3" "apk 0.1.0_alpha = 0.1.0_alpha"; do
    read -r kind a op b <<<"$v"
    got=$("$PG_CLI" vercmp "$kind" "$a" "$b") || true
    [ "$got" = "$op" ] || pg_fail "vercmp $kind $a $b: got '$got', want '$op'"
  done
}

@test "--help: patchgate and its core subcommands exit 0" {
  local sub
  run "$PG_CLI" --help
  assert_success
  for sub in import policy check status vercmp; do
    run "$PG_CLI" "$sub" --help
    [ "$status" -eq 0 ] || pg_fail "patchgate $sub --help: exit $status: $output"
    [ -n "$output" ] || pg_fail "patchgate $sub --help printed nothing"
  done
  run "$PG_CLI" policy set --help
  assert_success
}

@test "--help: bundle, sync and activate exit 0" {
  local sub
  for sub in bundle sync activate; do
    run "$PG_CLI" "$sub" --help
    [ "$status" -eq 0 ] || pg_fail "patchgate $sub --help: exit $status: $output"
  done
}

# --- global options, --version, make deps -----------------------------------

@test "--version prints the version and exits 0" {
  run "$PG_CLI" --version
  assert_success
  assert_output_matches "^patchgate [0-9]+\.[0-9]+\.[0-9]+$"
}

@test "options before the command mean the same as after it" {
  local after before
  "$PG_CLI" --db "$PG_DB" import "$REPORTS/trivy/nginx-debian12.json" >/dev/null ||
    pg_fail "patchgate --db FILE import failed"
  "$PG_CLI" --db="$PG_DB" policy set "$BATS_TEST_TMPDIR/nginx-policy.json" >/dev/null ||
    pg_fail "patchgate --db=FILE policy set failed"
  after=$("$PG_CLI" check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-10T00:00:00Z --json --config "$PG_HOOK_CONFIG")
  before=$("$PG_CLI" --db "$PG_DB" --config "$PG_HOOK_CONFIG" check --digest "$NGINX_ID" --at 2025-06-10T00:00:00Z --json)
  [ -n "$after" ] && [ "$after" = "$before" ] || pg_fail "check differs: after: $after; before: $before"
  [ "$(jq -r .decision <<<"$before")" = allow ] || pg_fail "check: $before"
  run "$PG_CLI" --db "$PG_DB" status --json
  assert_success
  [ "$(jq -r .policy_version <<<"$output")" = cli-1 ] || pg_fail "status --json: $output"
  # The last one wins, as it does after the command.
  run "$PG_CLI" --db /nonexistent/a.db status --db "$PG_DB"
  assert_success
  # Operands after `--` stay operands.
  run "$PG_CLI" --db "$PG_DB" import -- "$REPORTS/grype/clamav-alpine.json"
  assert_success
  # An option the command does not take fails as it would after it.
  run "$PG_CLI" --db "$PG_DB" bundle sign --key /nonexistent.pem x
  [ "$status" -eq 2 ] || pg_fail "bundle sign --db: exit $status: $output"
  run "$PG_CLI" --no-such-option status
  [ "$status" -eq 2 ] || pg_fail "an unknown global option: exit $status"
}

@test "policy set: a waiver of FIXABLE_UNKNOWN, a code the hook emits, is accepted and applies" {
  # grype/clamav-alpine.json: CVE-2025-5399 in libcurl, severity Unknown, fixed in 8.14.1-r0.
  pg_policy '.version = "unknown-1" | .defaults.max_scan_age = "30d" | .defaults.fixable_grace = {"UNKNOWN": "7d"}' \
    >"$BATS_TEST_TMPDIR/p1.json"
  pg_make_db "$PG_DB" "$BATS_TEST_TMPDIR/p1.json" "$REPORTS/grype/clamav-alpine.json"
  run cli check --db "$PG_DB" --digest "$CLAMAV_ID" --at 2025-06-20T00:00:00Z --json
  [ "$status" -eq 1 ] && [ "$(json_codes)" = FIXABLE_UNKNOWN ] || pg_fail "expected FIXABLE_UNKNOWN: $output"
  for code in FIXABLE_UNKNOWN FIXABLE_NEGLIGIBLE; do
    jq --arg c "$code" '.version = "unknown-2" | .waivers = [{"id": "W-U", "match": {"repository": "docker.io/clamav/*",
      "reason_code": $c}, "expires": "2025-12-31T00:00:00Z", "reason": "rated by nobody", "owner": "team-av"}]' \
      "$BATS_TEST_TMPDIR/p1.json" >"$BATS_TEST_TMPDIR/p2.json"
    run "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/p2.json"
    [ "$status" -eq 0 ] || pg_fail "policy set refused a waiver of $code: $output"
  done
  jq '.waivers[0].match.reason_code = "FIXABLE_UNKNOWN"' "$BATS_TEST_TMPDIR/p2.json" >"$BATS_TEST_TMPDIR/p3.json"
  "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/p3.json" >/dev/null
  run cli check --db "$PG_DB" --digest "$CLAMAV_ID" --at 2025-06-20T00:00:00Z --json
  [ "$status" -eq 0 ] || pg_fail "the FIXABLE_UNKNOWN waiver did not apply: $output"
  jq -e '.waivers_applied | index("W-U")' <<<"$output" >/dev/null || pg_fail "W-U not applied: $output"
}

@test "make deps: names the missing packages after \"installing \"" {
  # A stub apt-get: the recipe's message is what is tested, not Debian's mirror.
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  printf '#!/bin/sh\necho "apt-get $*" >>"%s"\n' "$BATS_TEST_TMPDIR/apt.log" >"$BATS_TEST_TMPDIR/bin/apt-get"
  chmod +x "$BATS_TEST_TMPDIR/bin/apt-get"
  [ "$(id -u)" = 0 ] || pg_fail "make deps installs only as root"
  run env PATH="$BATS_TEST_TMPDIR/bin:$PATH" make -s -C "$PG_SRC" deps \
    DEPS="patchgate-test-missing-a patchgate-test-missing-b bash"
  assert_success
  assert_output_contains "make deps: installing patchgate-test-missing-a patchgate-test-missing-b"
  grep -q "install -y -qq patchgate-test-missing-a patchgate-test-missing-b$" "$BATS_TEST_TMPDIR/apt.log" ||
    pg_fail "apt-get was asked for: $(cat "$BATS_TEST_TMPDIR/apt.log")"
}

# --- fix dates and remedies (Grype fix.available) ----------------------------

# grype/check_all_fields.json (scanned 2021-12-24) lists Django 3.2.9 with
# GHSA-v6rh-hp5x-86rv fixed in 3.2.10; the advisory (CVE-2021-44420) names
# one fix per branch, 2.2.25, 3.1.14 and 3.2.10, released 2021-12-07.  Newer
# Grype prints that as fix.versions and fix.available[].{version,date,kind}.
django_report() {
  jq '(.matches[] | select(.artifact.name == "Django") | .vulnerability.fix) |=
        (.versions = ["2.2.25", "3.1.14", "3.2.10"]
         | .available = [{"version": "2.2.25", "date": "2021-12-07", "kind": "advisory"},
                         {"version": "3.1.14", "date": "2021-12-07", "kind": "advisory"},
                         {"version": "3.2.10", "date": "2021-12-07", "kind": "advisory"}])' \
    "$REPORTS/grype/check_all_fields.json"
}

@test "check: the fixable grace runs from Grype's fix date, says so, and names the branch's fix" {
  local img=sha256:ce9898fd214aef9c994a42624b09056bdce3ff4a8e3f68dc242d967b80fcbeee
  pg_policy '.version = "django-1" | .defaults.max_scan_age = "3650d" | .defaults.fixable_grace = {"HIGH": "30d"}' \
    >"$BATS_TEST_TMPDIR/p.json"
  django_report >"$BATS_TEST_TMPDIR/django.json"
  # Without fix dates: the grace runs from the scan (2021-12-24), 17 days before.
  pg_make_db "$PG_DB" "$BATS_TEST_TMPDIR/p.json" "$REPORTS/grype/check_all_fields.json"
  run cli check --db "$PG_DB" --digest "$img" --at 2022-01-10T00:00:00Z --json
  [ "$status" -eq 0 ] || pg_fail "from the scan, 17 days is within 30d: $output"
  # With them: from 2021-12-07, 34 days before.
  pg_make_db "$BATS_TEST_TMPDIR/dated.db" "$BATS_TEST_TMPDIR/p.json" "$BATS_TEST_TMPDIR/django.json"
  run cli check --db "$BATS_TEST_TMPDIR/dated.db" --digest "$img" --at 2022-01-10T00:00:00Z --json
  [ "$status" -eq 1 ] && [ "$(json_codes)" = FIXABLE_HIGH ] || pg_fail "expected FIXABLE_HIGH from the fix date: $output"
  jq -e '.reasons[0].detail | contains("oldest fix known since 2021-12-07T00:00:00Z, per the scanner'"'"'s fix date (advisory)")' \
    <<<"$output" >/dev/null || pg_fail "the detail does not name the date's source: $output"
  jq -e '.reasons[0].remedy == "rebuild the image with Django >= 3.2.10"' <<<"$output" >/dev/null ||
    pg_fail "the remedy should name 3.2.10, the fix above 3.2.9: $output"
  # The earlier scan stays the source when it is earlier than the date.
  jq '(.matches[] | select(.artifact.name == "Django") | .vulnerability.fix.available[].date) = "2022-01-01"' \
    "$BATS_TEST_TMPDIR/django.json" >"$BATS_TEST_TMPDIR/late.json"
  pg_make_db "$BATS_TEST_TMPDIR/late.db" "$BATS_TEST_TMPDIR/p.json" "$BATS_TEST_TMPDIR/late.json"
  run cli check --db "$BATS_TEST_TMPDIR/late.db" --digest "$img" --at 2022-01-30T00:00:00Z --json
  [ "$status" -eq 1 ] || pg_fail "expected a deny 37 days after the scan: $output"
  jq -e '.reasons[0].detail | contains("since 2021-12-24T08:14:02Z, when an imported scan first listed it")' \
    <<<"$output" >/dev/null || pg_fail "the detail should name the scan: $output"
}

# --- import: trees, --keep-going, progress ------------------------------------

# report_tree DIR : the real reports kept one folder per image, as scan jobs
# leave them, plus a symlink out of the tree and one within it.
report_tree() {
  local d=$1
  mkdir -p "$d/nginx" "$d/clamav/nested" "$d/rocky" "$d/.cache"
  cp "$REPORTS/trivy/nginx-debian12.json" "$d/nginx/trivy-results.json"
  cp "$REPORTS/grype/nginx-debian12.json" "$d/nginx/grype-results.json"
  cp "$REPORTS/grype/clamav-alpine.json" "$d/clamav/nested/grype-results.json"
  cp "$REPORTS/trivy/rockylinux-8.json" "$d/rocky/trivy-results.json"
  echo '{ not a report' >"$d/.cache/partial.json"
  echo 'notes' >"$d/rocky/README"
  ln -s "$REPORTS/trivy/all_statuses.json" "$d/outside.json"
  ln -s nginx/trivy-results.json "$d/inside.json"
}

@test "import DIR: subfolders in a sorted order; symlinks are not followed, in or out of DIR" {
  local t=$BATS_TEST_TMPDIR/tree all_statuses_id
  report_tree "$t"
  run "$PG_CLI" import --db "$PG_DB" "$t/"
  assert_success
  assert_output_contains "imported 4 reports: 3 images, 4 new scans (0 already present), 190 findings"
  assert_output_contains "patchgate: skipped $t/inside.json: a symlink: not followed"
  assert_output_contains "patchgate: skipped $t/outside.json: a symlink: not followed"
  [ "$(sqlite3 "$PG_DB" 'SELECT source FROM scans ORDER BY id' | tr '\n' ' ')" = \
    "$t/clamav/nested/grype-results.json $t/nginx/grype-results.json $t/nginx/trivy-results.json $t/rocky/trivy-results.json " ] ||
    pg_fail "order: $(sqlite3 "$PG_DB" 'SELECT source FROM scans ORDER BY id')"
  # The image all_statuses.json scanned is not in the database.
  all_statuses_id=$(jq -r .Metadata.ImageID "$REPORTS/trivy/all_statuses.json")
  "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/nginx-policy.json" >/dev/null
  run cli check --db "$PG_DB" --digest "$all_statuses_id" --at 2025-06-10T00:00:00Z --json
  [ "$(json_codes)" = UNSCANNED ] || pg_fail "the symlinked report was imported: $output"
  run cli check --db "$PG_DB" --digest "$CLAMAV_ID" --at 2025-06-10T00:00:00Z --json
  [[ ,$(json_codes), != *,UNSCANNED,* ]] || pg_fail "the nested report was not imported: $output"
}

@test "import: one transaction by default; --keep-going imports the good ones and lists every bad one" {
  local t=$BATS_TEST_TMPDIR/tree
  report_tree "$t"
  mkdir -p "$t/legacy" "$t/broken"
  cp "$REPORTS/trivy/legacy_many_vulns.json" "$t/legacy/trivy-results.json"
  head -c 5000 "$REPORTS/trivy/nginx-debian12.json" >"$t/broken/trivy-results.json"
  run "$PG_CLI" import --db "$PG_DB" "$t"
  [ "$status" -eq 2 ] || pg_fail "expected exit 2: $output"
  assert_output_contains "$t/broken/trivy-results.json: invalid JSON"
  # A failed run changes nothing: here there was no database, and there is
  # none (the writer's transaction is rolled back, and the file it created
  # removed).
  [ ! -e "$PG_DB" ] || pg_fail "a failed run left a database"

  run "$PG_CLI" import --keep-going --db "$PG_DB" "$t" "$BATS_TEST_TMPDIR/missing.json"
  [ "$status" -eq 2 ] || pg_fail "expected exit 2 when reports failed: $output"
  assert_output_contains "patchgate: FAILED $t/broken/trivy-results.json: invalid JSON"
  assert_output_contains "patchgate: FAILED $t/legacy/trivy-results.json: legacy pre-SchemaVersion Trivy output"
  assert_output_contains "patchgate: FAILED $BATS_TEST_TMPDIR/missing.json: No such file or directory"
  assert_output_contains "imported 4 reports: 3 images, 4 new scans (0 already present), 190 findings, 0 VEX statements; 3 reports failed; 2 skipped"
  [ "$(sqlite3 "$PG_DB" 'SELECT count(*) FROM scans')" = 4 ] || pg_fail "the good reports were not all recorded"
  # Again: nothing new, the same failures, the same exit status.
  run "$PG_CLI" import -k --db "$PG_DB" "$t"
  [ "$status" -eq 2 ] || pg_fail "expected exit 2 again: $output"
  assert_output_contains "imported 4 reports: 3 images, 0 new scans (4 already present)"
  # Only good reports: exit 0.
  rm -r "$t/legacy" "$t/broken"
  run "$PG_CLI" import --keep-going --db "$PG_DB" "$t"
  assert_success
}

@test "import: a progress line on a terminal for a long import, none otherwise" {
  local t=$BATS_TEST_TMPDIR/many i
  pg_require script
  pg_require strace
  for i in $(seq -w 1 150); do
    mkdir -p "$t/img$i"
    cp "$REPORTS/grype/nginx-debian12.json" "$t/img$i/grype-results.json"
  done
  # The line appears once an import has taken a second: each open delayed
  # by 15 ms (strace's fault injection) makes this one take longer than
  # that on any machine, where 150 reports alone took 0.4 s here.
  # (LeakSanitizer cannot run under ptrace: SANITIZE=1 builds.)
  run script -qec "strace -f -o /dev/null -e inject=openat:delay_enter=15000 -E ASAN_OPTIONS='${ASAN_OPTIONS:-}:detect_leaks=0' '$PG_CLI' import --db '$PG_DB' '$t'" /dev/null
  assert_success
  assert_output_matches "importing \[#*\.*\] [0-9]+/150 reports  [0-9.]+/s  ETA [0-9]+:[0-9]{2}"
  # Erased before the summary, which stays alone on its line.
  assert_output_matches $'\r\033\\[Kimported 150 reports: 1 image, 1 new scan \\(149 already present\\)'
  # Not a terminal: the summary only.
  "$PG_CLI" import --db "$PG_DB" "$t" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" ||
    pg_fail "import failed: $(cat "$BATS_TEST_TMPDIR/err")"
  [ ! -s "$BATS_TEST_TMPDIR/err" ] || pg_fail "progress written to a file: $(od -c "$BATS_TEST_TMPDIR/err" | head)"
  [ "$(head -n 1 "$BATS_TEST_TMPDIR/out")" = "imported 150 reports: 1 image, 0 new scans (150 already present), 0 findings, 0 VEX statements" ] ||
    pg_fail "summary: $(cat "$BATS_TEST_TMPDIR/out")"
}

# OpenVEX documents in the shapes suppliers publish them: statement
# timestamps only (go-vex's and vexctl's own test data), a statement
# without products, a package that is not an image, a product naming a
# repository but no digest, subcomponents.
@test "import + check: OpenVEX statements are counted, and check names the statement that decided" {
  pg_policy '.version = "cli-vex" | .defaults.max_scan_age = "30d" | .defaults.fixable_grace = {"CRITICAL": "7d"}
    | .defaults.vex_max_age = "30d"' >"$PG_POLICY_FILE"
  mkdir -p "$BATS_TEST_TMPDIR/vex"
  cat >"$BATS_TEST_TMPDIR/vex/a.vex.json" <<JSON
{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/nginx-a",
  "author": "Example Security",
  "version": 1,
  "statements": [
    { "timestamp": "2025-06-09T10:00:00Z",
      "vulnerability": { "name": "CVE-2025-48174" },
      "products": [ { "@id": "pkg:oci/nginx@sha256%3A${NGINX_REPO_DIGEST#*sha256:}?repository_url=index.docker.io%2Flibrary%2Fnginx",
                      "subcomponents": [ { "@id": "pkg:deb/debian/libavif15@0.11.1-1?arch=amd64" } ] } ],
      "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path" },
    { "timestamp": "2025-06-09T10:00:00Z", "vulnerability": { "name": "CVE-2009-4487" }, "status": "not_affected",
      "justification": "vulnerable_code_not_present" },
    { "timestamp": "2025-06-09T10:00:00Z", "vulnerability": { "name": "CVE-1234-5678" },
      "products": [ { "@id": "pkg:apk/wolfi/bash@1.0.0" } ], "status": "under_investigation" },
    { "timestamp": "2025-06-09T10:00:00Z", "vulnerability": { "name": "CVE-2025-4598" },
      "products": [ { "@id": "pkg:oci/nginx?repository_url=docker.io/library/nginx&tag=latest" } ], "status": "fixed" }
  ]
}
JSON
  run cli import --db "$PG_DB" "$REPORTS/trivy/nginx-debian12.json" "$REPORTS/grype/nginx-debian12.json" \
    "$BATS_TEST_TMPDIR/vex"
  assert_success
  assert_output_contains "2 VEX statements for 2 images; 2 skipped: no product"
  run cli policy set --db "$PG_DB" "$PG_POLICY_FILE"
  assert_success

  # The CRITICAL is cleared, and check says by which statement of which document.
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-20T00:00:00Z
  assert_success
  assert_output_contains "waiver vex:CVE-2025-48174 applied"
  assert_output_contains "vex: CVE-2025-48174 in libavif15 cleared: not_affected (vulnerable_code_not_in_execute_path) of 2025-06-09T10:00:00Z, $BATS_TEST_TMPDIR/vex/a.vex.json statements[0] (https://example.com/vex/nginx-a)"
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-20T00:00:00Z --json
  assert_success
  jq -e '.notes | any(test("CVE-2025-48174 in libavif15 cleared: .*a.vex.json statements\\[0\\]"))' <<<"$output" >/dev/null ||
    pg_fail "no note in --json: $output"

  # A later statement in another document withdraws it.
  cat >"$BATS_TEST_TMPDIR/b.vex.json" <<JSON
{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/nginx-b",
  "author": "Example Security",
  "timestamp": "2025-06-15T00:00:00Z",
  "version": 1,
  "statements": [
    { "vulnerability": { "name": "CVE-2025-48174" },
      "products": [ { "@id": "pkg:oci/nginx@sha256:${NGINX_REPO_DIGEST#*sha256:}" } ],
      "status": "affected", "action_statement": "upgrade libavif15 to 0.11.1-1+deb12u1" }
  ]
}
JSON
  run cli import --db "$PG_DB" "$BATS_TEST_TMPDIR/b.vex.json"
  assert_success
  assert_output_contains "1 VEX statement for 1 image"
  run cli check --db "$PG_DB" --digest "$NGINX_ID" --at 2025-06-20T00:00:00Z
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  assert_output_contains "FIXABLE_CRITICAL"
  assert_output_contains "vex: CVE-2025-48174 in libavif15 not cleared: the latest statement is affected of 2025-06-15T00:00:00Z, $BATS_TEST_TMPDIR/b.vex.json statements[0] (https://example.com/vex/nginx-b), which withdraws not_affected"
}
