#!/usr/bin/env bats
# `patchgate report expiring`: the images the hook allows now and will
# refuse within a window, each with the first refused second and why.  On
# the real reports in ../shared/testdata/reports, one deadline at a time:
# the report from the second before the deadline names it, the report from
# the deadline itself counts the image as refused already, and `patchgate
# check` agrees on both seconds.  Every expected instant is computed here
# from the reports' own fields and the policy, not read back from patchgate.

load helpers

NGINX_ID=sha256:be69f2940aaf64fdf50c9c99420cbd57e10ee655ec7204df1c407e9af63d0cc1
CLAMAV_ID=sha256:167b17b888895622c871cc31def407f0daf57e852550db4413acf5d498563422
DAY=86400

setup_file() {
  pg_require jq || return 1
  pg_skipping && return 0
  pg_require_binaries || return 1
  REPORTS=$(cd "$PG_SRC/../shared/testdata/reports" && pwd) || pg_fail "no real reports" || return 1
  VEXDOCS=$PG_SRC/tests/unit/data/vex/real_nginx_reports/documents
  export REPORTS VEXDOCS
}

setup() {
  pg_setup
  # Never the host's /etc/patchgate/hook.json (its max_policy_age).
  export PATCHGATE_CONFIG=$PG_HOOK_CONFIG
}

teardown() {
  pg_teardown
}

# epoch TIME : seconds since the epoch of an RFC 3339 TIME (fractions cut,
# as the importers cut them).
epoch() { date -u -d "$(sed 's/\.[0-9]*Z$/Z/' <<<"$1")" +%s; }

# expiring_db POLICY-JQ FILE... : $PG_DB with the files (reports, then
# OpenVEX documents) under the policy {enforce, unscanned deny} | POLICY-JQ.
expiring_db() {
  local filter=$1 f
  shift
  jq -n '{version: "expiring-1", defaults: {mode: "enforce", unscanned: "deny"}, scopes: []}' |
    jq "$filter" >"$PG_POLICY_FILE" || return 1
  rm -f "$PG_DB"
  for f in "$@"; do
    "$PG_CLI" import --db "$PG_DB" "$f" >/dev/null || pg_fail "import $f" || return 1
  done
  "$PG_CLI" policy set --db "$PG_DB" "$PG_POLICY_FILE" >/dev/null || pg_fail "policy set" || return 1
}

# report_at EPOCH WITHIN [ARG...] : `report expiring --json` from EPOCH.
report_at() {
  local at=$1 within=$2
  shift 2
  run "$PG_CLI" report expiring --db "$PG_DB" --at "$(pg_rfc3339 "$at")" --within "$within" --json "$@"
}

# deadline IMAGE-ID CODE T [ARG...] : IMAGE-ID is first refused at second T
# (epoch), for CODE: allowed at T-1, refused at T, by the report and by
# check alike.
deadline() {
  local id=$1 code=$2 t=$3 e
  shift 3
  # The window (T-2, T-1] ends the second before: nothing yet.
  report_at $((t - 2)) 1s "$@"
  [ "$status" -eq 0 ] || pg_fail "$code: from T-2 within 1s: exit $status: $output" || return 1
  [ "$(jq --arg id "$id" '[.expiring[] | select(.image_id == $id)] | length' <<<"$output")" = 0 ] ||
    pg_fail "$code: reported before T: $output" || return 1
  # The window (T-1, T]: the deadline, to the second.
  report_at $((t - 1)) 1s "$@"
  [ "$status" -eq 1 ] || pg_fail "$code: from T-1 within 1s: exit $status: $output" || return 1
  e=$(jq -c --arg id "$id" '[.expiring[] | select(.image_id == $id)] | first' <<<"$output")
  [ "$(jq -r .code <<<"$e")" = "$code" ] || pg_fail "$code: reported as $e" || return 1
  [ "$(jq -r .at <<<"$e")" = "$(pg_rfc3339 "$t")" ] || pg_fail "$code: at $(jq -r .at <<<"$e"), want $(pg_rfc3339 "$t")" || return 1
  [ "$(jq -r .refused_at <<<"$e")" = "$(pg_rfc3339 "$t")" ] || return 1
  [ "$(jq -r .refuses <<<"$e")" = true ] || return 1
  [ "$(jq -r .in_seconds <<<"$e")" = 1 ] || return 1
  [ -n "$(jq -r .detail <<<"$e")" ] && [ -n "$(jq -r .remedy <<<"$e")" ] || return 1
  # From far before: the same second, found by the search.
  report_at $((t - 40 * DAY + 12345)) 60d "$@"
  [ "$status" -eq 1 ] || pg_fail "$code: from T-40d: exit $status: $output" || return 1
  [ "$(jq -r --arg id "$id" '[.expiring[] | select(.image_id == $id and .refuses)] | first | .at' <<<"$output")" = "$(pg_rfc3339 "$t")" ] ||
    pg_fail "$code: from T-40d: $output" || return 1
  # From T itself: refused already, not expiring.
  report_at "$t" 1d "$@"
  [ "$(jq --arg id "$id" '[.expiring[] | select(.image_id == $id)] | length' <<<"$output")" = 0 ] ||
    pg_fail "$code: reported at T: $output" || return 1
  [ "$(jq .images_refused_now <<<"$output")" -ge 1 ] || return 1
  # The hook's own answer at T-1 and T.
  run "$PG_CLI" check --db "$PG_DB" --digest "$id" --at "$(pg_rfc3339 $((t - 1)))" --json "$@"
  [ "$status" -eq 0 ] || pg_fail "$code: check at T-1: exit $status: $output" || return 1
  run "$PG_CLI" check --db "$PG_DB" --digest "$id" --at "$(pg_rfc3339 "$t")" --json "$@"
  [ "$status" -eq 1 ] || pg_fail "$code: check at T: exit $status: $output" || return 1
  jq -e --arg c "$code" '[.reasons[].code] | index($c)' <<<"$output" >/dev/null || pg_fail "$code: check at T: $output"
}

@test "expiring: scan max age (SCAN_STALE), Trivy" {
  expiring_db '.defaults.max_scan_age = "30d"' "$REPORTS/trivy/nginx-debian12.json" || return 1
  local scanned
  scanned=$(epoch "$(jq -r .CreatedAt "$REPORTS/trivy/nginx-debian12.json")")
  # Refused once the scan is more than 30 days old: 30 days and a second.
  deadline "$NGINX_ID" SCAN_STALE $((scanned + 30 * DAY + 1))
}

@test "expiring: fix grace (FIXABLE_CRITICAL), Grype" {
  expiring_db '.defaults.fixable_grace = {"CRITICAL": "7d"}' "$REPORTS/grype/nginx-debian12.json" || return 1
  local scanned
  # The fix is known since the scan that first listed it.
  scanned=$(epoch "$(jq -r .descriptor.timestamp "$REPORTS/grype/nginx-debian12.json")")
  deadline "$NGINX_ID" FIXABLE_CRITICAL $((scanned + 7 * DAY + 1))
}

@test "expiring: image age (IMAGE_TOO_OLD), Trivy" {
  expiring_db '.defaults.max_image_age = "30d"' "$REPORTS/trivy/clamav-alpine.json" || return 1
  local created
  created=$(epoch "$(jq -r .Metadata.ImageConfig.created "$REPORTS/trivy/clamav-alpine.json")")
  deadline "$CLAMAV_ID" IMAGE_TOO_OLD $((created + 30 * DAY + 1))
}

@test "expiring: superseded grace (SUPERSEDED), a newer build of nginx:latest" {
  local newer=$BATS_TEST_TMPDIR/nginx-newer.json since
  # The same report as a newer build of nginx:latest, scanned 12 days later.
  jq '.CreatedAt = "2025-06-20T08:00:00.5Z"
    | .Metadata.ImageID = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
    | .Metadata.RepoDigests = ["nginx@sha256:3333333333333333333333333333333333333333333333333333333333333333"]' \
    "$REPORTS/trivy/nginx-debian12.json" >"$newer"
  expiring_db '.defaults.superseded_grace = "14d"' "$REPORTS/trivy/nginx-debian12.json" "$newer" || return 1
  since=$(epoch 2025-06-20T08:00:00Z)
  deadline "$NGINX_ID" SUPERSEDED $((since + 14 * DAY + 1))
  # The newer build is never superseded.
  report_at $((since + 1)) 365d
  [ "$(jq '[.expiring[] | select(.image_id | startswith("sha256:2222"))] | length' <<<"$output")" = 0 ]
}

@test "expiring: waiver expiry, to the second" {
  expiring_db '.defaults.fixable_grace = {"CRITICAL": "7d"}
    | .waivers = [{id: "W-AVIF", match: {repository: "docker.io/library/nginx", cve: "CVE-2025-48174"},
                   expires: "2025-07-01T12:00:00Z", reason: "not reachable", owner: "web"}]' \
    "$REPORTS/trivy/nginx-debian12.json" || return 1
  # In force up to, not including, its expiry second.
  deadline "$NGINX_ID" FIXABLE_CRITICAL "$(epoch 2025-07-01T12:00:00Z)"
}

@test "expiring: OpenVEX statement age (vex_max_age)" {
  local issued
  expiring_db '.defaults.fixable_grace = {"CRITICAL": "0s"} | .defaults.vex_max_age = "30d"' \
    "$REPORTS/trivy/nginx-debian12.json" "$VEXDOCS/nginx-v0.2.json" || return 1
  # The statement that clears CVE-2025-48174 (the one fixable CRITICAL)
  # takes the document's timestamp; it clears while younger than 30 days.
  issued=$(epoch "$(jq -r .timestamp "$VEXDOCS/nginx-v0.2.json")")
  deadline "$NGINX_ID" FIXABLE_CRITICAL $((issued + 30 * DAY))
  report_at $((issued + 30 * DAY - 1)) 1s
  jq -e '.expiring[0].detail | contains("CVE-2025-48174")' <<<"$output" >/dev/null
}

@test "expiring: end-of-life date (EOL_OS)" {
  expiring_db '.eol = {"debian:12": "2025-08-01T00:00:00Z"}' "$REPORTS/trivy/nginx-debian12.json" \
    "$REPORTS/trivy/clamav-alpine.json" || return 1
  deadline "$NGINX_ID" EOL_OS "$(epoch 2025-08-01T00:00:00Z)"
  # Alpine has no end of life in the policy.
  report_at "$(epoch 2025-07-01T00:00:00Z)" 365d
  [ "$(jq -r '[.expiring[].image_id] | unique | join(",")' <<<"$output")" = "$NGINX_ID" ]
}

@test "expiring: the policy bundle going stale (max_policy_age), for every image" {
  pg_require openssl || return 0
  local keys=$BATS_TEST_TMPDIR/keys admin=$BATS_TEST_TMPDIR/admin.db cfg=$BATS_TEST_TMPDIR/host.json created
  mkdir -p "$keys"
  openssl genpkey -algorithm ed25519 -out "$keys/a.pem" 2>/dev/null &&
    openssl pkey -in "$keys/a.pem" -pubout -out "$keys/a.pub.pem" || return 1
  expiring_db '.' "$REPORTS/trivy/nginx-debian12.json" "$REPORTS/trivy/clamav-alpine.json" || return 1
  mv "$PG_DB" "$admin"
  rm -f "${PG_DB%.db}.idx"
  PATCHGATE_NOW=2025-06-10T06:00:00Z "$PG_CLI" bundle build -o "$BATS_TEST_TMPDIR/p.bundle" --db "$admin" --serial 7 >/dev/null &&
    "$PG_CLI" bundle sign --key "$keys/a.pem" "$BATS_TEST_TMPDIR/p.bundle" >/dev/null || return 1
  jq -n --arg db "$PG_DB" --arg k "$keys/a.pub.pem" \
    '{policy_db: $db, trusted_keys: [$k], max_policy_age: "10d", policy_stale: "deny"}' >"$cfg"
  "$PG_CLI" activate --config "$cfg" "$BATS_TEST_TMPDIR/p.bundle" >/dev/null || return 1
  created=$(epoch 2025-06-10T06:00:00Z)
  # --config: its database, index and max_policy_age.
  run "$PG_CLI" report expiring --config "$cfg" --at "$(pg_rfc3339 $((created + 10 * DAY)))" --within 1s --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  [ "$(jq -r '[.expiring[] | select(.code == "POLICY_STALE" and .refuses)] | length' <<<"$output")" = 2 ]
  [ "$(jq -r '[.expiring[].at] | unique | join(",")' <<<"$output")" = "$(pg_rfc3339 $((created + 10 * DAY + 1)))" ]
  run "$PG_CLI" report expiring --config "$cfg" --at "$(pg_rfc3339 $((created + 10 * DAY + 1)))" --within 1d --json
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$(jq .images_refused_now <<<"$output")" = 2 ]
  # policy_stale audit: the bundle's age never refuses.
  jq '.policy_stale = "audit"' "$cfg" >"$cfg.audit"
  run "$PG_CLI" report expiring --config "$cfg.audit" --at "$(pg_rfc3339 "$created")" --within 365d --json
  [ "$status" -eq 0 ] || pg_fail "audit: exit $status: $output"
}

@test "expiring: every reason in order, the first refusing, the table sorted by instant" {
  expiring_db '.defaults.max_scan_age = "30d" | .defaults.fixable_grace = {"CRITICAL": "7d"}' \
    "$REPORTS/trivy/nginx-debian12.json" "$REPORTS/trivy/clamav-alpine.json" "$REPORTS/trivy/rockylinux-8.json" || return 1
  local at
  at=$(epoch 2025-06-09T00:00:00Z)
  report_at "$at" 60d
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  # nginx: the CRITICAL fix grace first, then its scan going stale; clamav:
  # its scan going stale; rocky (scanned in 2021): refused already.
  [ "$(jq -r '[.expiring[] | "\(.at) \(.code) \(.name) \(.refuses)"] | join("\n")' <<<"$output")" = \
    "2025-06-15T16:39:26Z FIXABLE_CRITICAL docker.io/library/nginx:latest true
2025-07-08T15:51:14Z SCAN_STALE docker.io/clamav/clamav:latest true
2025-07-08T16:39:26Z SCAN_STALE docker.io/library/nginx:latest false" ] || pg_fail "$output"
  [ "$(jq -c '[.images_examined, .images_refused_now, .images_expiring, .within_seconds]' <<<"$output")" = "[3,1,2,5184000]" ]
  [ "$(jq -r '.expiring[0].repositories | join(",")' <<<"$output")" = docker.io/library/nginx ]
  [ "$(jq -r '.expiring[0].refused_at' <<<"$output")" = 2025-06-15T16:39:26Z ]
  [ "$(jq -r '.expiring[2].refused_at' <<<"$output")" = 2025-06-15T16:39:26Z ]
  [ "$(jq -r '.now, .until' <<<"$output" | tr '\n' ' ')" = "2025-06-09T00:00:00Z 2025-08-08T00:00:00Z " ]
  # The table: the same rows in the same order, a further reason marked +.
  run "$PG_CLI" report expiring --db "$PG_DB" --at 2025-06-09T00:00:00Z --within 60d
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  [ "$(grep -E '^[0-9]{4}-' <<<"$output" | awk '{print $1, $(NF-2)}' | tr '\n' ';')" = \
    "2025-06-15T16:39:26Z FIXABLE_CRITICAL;2025-07-08T15:51:14Z SCAN_STALE;2025-07-08T16:39:26Z +SCAN_STALE;" ] ||
    pg_fail "$output"
  grep -q '^WHEN  *IN  *REASON  *IMAGE$' <<<"$output"
  grep -q '^    repositories: docker.io/clamav/clamav$' <<<"$output"
  grep -q '^2 of 3 images refused within 60 days; 1 refused already' <<<"$output"
}

@test "expiring: --namespace decides under the scope the namespace selects" {
  expiring_db '.defaults.max_scan_age = "30d"
    | .scopes = [{name: "payments", match: {namespace: "payments"}, max_scan_age: "10d"},
                 {name: "system", match: {namespace: "kube-system"}, mode: "audit"}]' \
    "$REPORTS/trivy/nginx-debian12.json" || return 1
  local scanned
  scanned=$(epoch "$(jq -r .CreatedAt "$REPORTS/trivy/nginx-debian12.json")")
  deadline "$NGINX_ID" SCAN_STALE $((scanned + 30 * DAY + 1))
  deadline "$NGINX_ID" SCAN_STALE $((scanned + 10 * DAY + 1)) --namespace payments
  report_at "$scanned" 60d --namespace payments
  [ "$(jq -r '.namespace, .expiring[0].scope' <<<"$output" | tr '\n' ' ')" = "payments payments " ]
  report_at "$scanned" 60d
  [ "$(jq -r '.namespace, .expiring[0].scope' <<<"$output" | tr '\n' ' ')" = "null defaults " ]
  # An audit scope never refuses: nothing expires there.
  report_at "$scanned" 365d --namespace kube-system
  [ "$status" -eq 0 ] || pg_fail "audit scope: exit $status: $output"
  [ "$(jq .images_expiring <<<"$output")" = 0 ]
}

@test "expiring: exit 0 when nothing expires, 2 on errors" {
  expiring_db '.defaults.max_scan_age = "30d"' "$REPORTS/trivy/nginx-debian12.json" || return 1
  report_at "$(epoch 2025-06-09T00:00:00Z)" 1d
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$(jq -c .expiring <<<"$output")" = "[]" ]
  run "$PG_CLI" report expiring --db "$PG_DB" --at 2025-06-09T00:00:00Z --within 1d
  [ "$status" -eq 0 ]
  grep -q '^0 of 1 image refused within 24 hours; 0 refused already$' <<<"$output" || pg_fail "$output"
  run "$PG_CLI" report expiring --db "$PG_DB" --within 7x
  [ "$status" -eq 2 ]
  assert_output_contains "--within"
  run "$PG_CLI" report expiring --db "$PG_DB" --within 0s
  [ "$status" -eq 2 ]
  run "$PG_CLI" report expiring --db "$PG_DB" --at yesterday
  [ "$status" -eq 2 ]
  assert_output_contains "RFC 3339"
  run "$PG_CLI" report expiring --db "$PG_DB" stray
  [ "$status" -eq 2 ]
  run "$PG_CLI" report expiring --db "$BATS_TEST_TMPDIR/none.db"
  [ "$status" -eq 2 ]
  rm -f "${PG_DB%.db}.idx"
  run "$PG_CLI" report expiring --db "$PG_DB"
  [ "$status" -eq 2 ]
  assert_output_contains "policy index"
  run "$PG_CLI" report --help
  [ "$status" -eq 0 ]
  assert_output_contains "expiring: 0 no"
}
