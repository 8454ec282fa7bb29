#!/usr/bin/env bats
# `patchgate report rebuilds`: the image hierarchy from layer DiffIDs, on
# images built here (busybox-static + umoci, as tests/lib.sh does: a child
# is its base's layers plus one) and on the real scanner reports.

load helpers

setup_file() {
  pg_setup_file || return 1
  pg_skipping && return 0
  pg_require dot || return 1
  pg_skipping && return 0
  REPORTS=$(cd "$PG_SRC/../shared/testdata/reports" && pwd) || pg_fail "no real reports" || return 1
  export REPORTS
  # Tag 1 (busybox) is build 1 of localhost/pg-base:1.  app1 is built FROM
  # it, base2 is the patched build 2 of the base (build 1 plus a layer, as
  # `FROM base:1 RUN apt-get upgrade` makes it), app2 is built FROM base2.
  derive_image 1 app1 /etc/app "application" &&
    derive_image 1 base2 /etc/patched "security update" &&
    derive_image base2 app2 /etc/app "application" || pg_fail "could not build the images" || return 1
}

setup() {
  pg_setup
}

teardown() {
  pg_teardown
}

# derive_image FROM TO FILE CONTENT : layout tag TO is tag FROM plus FILE.
derive_image() {
  local b=$PG_WORK/derive-$2
  rm -rf "$b"
  umoci unpack --image "$PG_LAYOUT:$1" "$b" >/dev/null &&
    printf '%s\n' "$4" >"$b/rootfs$3" &&
    umoci repack --image "$PG_LAYOUT:$2" "$b" || return 1
  rm -rf "$b"
}

# diff_ids TAG : the layer DiffIDs of layout tag TAG, one a line.
diff_ids() { jq -r '.rootfs.diff_ids[]' "$(pg_blob "$(pg_config_digest "$1")")"; }

# report_named TAG NAME TIME : a Trivy report of layout tag TAG that names
# it NAME (repository:tag), scanned at TIME.
report_named() {
  make_trivy_report "$1" "$3" | jq --arg n "$2" '
      .ArtifactName = $n | .Metadata.RepoTags = [$n]
    | .Metadata.RepoDigests |= map(($n | sub(":[^:/]*$"; "")) + "@" + (split("@")[1]))'
}

# The four images, each scanned once: the base's builds 1 and 2 under
# localhost/pg-base:1, the applications under their own names.
lineage_db() {
  local d=$BATS_TEST_TMPDIR/reports
  mkdir -p "$d"
  report_named 1 localhost/pg-base:1 "$(pg_days_ago 10)" >"$d/1-base1.json" &&
    report_named app1 localhost/pg-app:1 "$(pg_days_ago 9)" >"$d/2-app1.json" &&
    report_named base2 localhost/pg-base:1 "$(pg_days_ago 3)" >"$d/3-base2.json" &&
    report_named app2 localhost/pg-app:2 "$(pg_days_ago 2)" >"$d/4-app2.json" || return 1
  pg_make_db "$PG_DB" "${1:-$PG_POLICY_FILE}" "$d"/*.json
}

@test "rebuilds: the child is its base's layers plus one" {
  # What the rest of this file stands on.
  local base child
  base=$(diff_ids 1)
  child=$(diff_ids app1)
  [ "$(wc -l <<<"$child")" -eq $(($(wc -l <<<"$base") + 1)) ]
  [ "$(head -n "$(wc -l <<<"$base")" <<<"$child")" = "$base" ]
  [ "$(head -n "$(wc -l <<<"$base")" <<<"$(diff_ids base2)")" = "$base" ]
}

@test "rebuilds: an image on the older build of a patched base is to rebuild, one on the newest is not" {
  lineage_db || return 1
  run "$PG_CLI" report rebuilds --db "$PG_DB" --json
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$(jq -r '.images_to_rebuild' <<<"$output")" = 1 ]
  [ "$(jq -r '.bases | length' <<<"$output")" = 1 ]
  [ "$(jq -r '.bases[0].names | join(",")' <<<"$output")" = localhost/pg-base:1 ]
  [ "$(jq -r '.bases[0].newest.digest' <<<"$output")" = "$(pg_config_digest base2)" ]
  [ "$(jq -r '.bases[0].builds[0].digest' <<<"$output")" = "$(pg_config_digest 1)" ]
  [ "$(jq -r '.bases[0].builds[0].rebuild[0].digest' <<<"$output")" = "$(pg_config_digest app1)" ]
  [ "$(jq -r '.bases[0].builds[0].rebuild[0].names | join(",")' <<<"$output")" = localhost/pg-app:1 ]
  [ "$(jq -r '.bases[0].builds[0].rebuild[0].repositories | join(",")' <<<"$output")" = localhost/pg-app ]
  [ "$(jq -r '.bases[0].builds[0].rebuild[0].last_scan' <<<"$output")" = "$(pg_days_ago 9)" ]
  ! grep -q "$(pg_config_digest app2)" <<<"$output" || pg_fail "app2 is on the newest build"

  run "$PG_CLI" report rebuilds --db "$PG_DB"
  [ "$status" -eq 0 ]
  grep -q "^base localhost/pg-base:1$" <<<"$output"
  grep -q "older build $(pg_config_digest 1) " <<<"$output"
  grep -qE "^    $(pg_config_digest app1)  localhost/pg-app:1  last scan $(pg_days_ago 9)$" <<<"$output" ||
    pg_fail "no line for app1 in: $output"
  grep -q '^1 image to rebuild$' <<<"$output"
}

@test "rebuilds: --base by name, by repository, by digest" {
  lineage_db || return 1
  run "$PG_CLI" report rebuilds --db "$PG_DB" --json --base localhost/pg-base:1
  [ "$status" -eq 0 ]
  [ "$(jq -r '[.bases[].builds[].rebuild[].digest] | join(",")' <<<"$output")" = "$(pg_config_digest app1)" ]
  run "$PG_CLI" report rebuilds --db "$PG_DB" --json --base localhost/pg-base
  [ "$status" -eq 0 ]
  [ "$(jq -r '[.bases[].builds[].rebuild[].digest] | join(",")' <<<"$output")" = "$(pg_config_digest app1)" ]
  # A base with nothing on an older build: named, and nothing to rebuild.
  run "$PG_CLI" report rebuilds --db "$PG_DB" --json --base localhost/pg-app:1
  [ "$status" -eq 0 ]
  [ "$(jq -r '.images_to_rebuild' <<<"$output")" = 0 ]
  [ "$(jq -r '.bases[0].names[0]' <<<"$output")" = localhost/pg-app:1 ]
  # Build 1 by its manifest digest: everything its layers start (the
  # patched build and what is on it too, as REVOKED_BASE would see them).
  run "$PG_CLI" report rebuilds --db "$PG_DB" --json --base "localhost/pg-base@$(pg_manifest_digest 1)"
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$(jq -r '.bases[0].kind' <<<"$output")" = build ]
  [ "$(jq -r '.bases[0].newest.digest' <<<"$output")" = "$(pg_config_digest base2)" ]
  [ "$(jq -r '[.bases[0].builds[0].rebuild[].digest] | sort | join(",")' <<<"$output")" = \
    "$(printf '%s\n' "$(pg_config_digest app1)" "$(pg_config_digest base2)" "$(pg_config_digest app2)" | sort | paste -sd,)" ]
  run "$PG_CLI" report rebuilds --db "$PG_DB" --base localhost/pg-nothing:1
  [ "$status" -eq 2 ]
  grep -q "no scanned image is named localhost/pg-nothing:1" <<<"$output"
}

@test "rebuilds: a base the policy revokes" {
  pg_policy ".revoked.bases = [\"$(pg_config_digest 1)\"]" >"$BATS_TEST_TMPDIR/revoked.json"
  lineage_db "$BATS_TEST_TMPDIR/revoked.json" || return 1
  run "$PG_CLI" report rebuilds --db "$PG_DB" --json
  [ "$status" -eq 0 ]
  [ "$(jq -r '[.bases[] | select(.kind == "build")][0].builds[0].revoked' <<<"$output")" = true ]
  [ "$(jq -r '[.bases[] | select(.kind == "build")][0].builds[0].digest' <<<"$output")" = "$(pg_config_digest 1)" ]
  [ "$(jq -r '.images_to_rebuild' <<<"$output")" = 3 ]
  # The hook's rule agrees on what is built on it.
  run "$PG_CLI" check --db "$PG_DB" --digest "$(pg_config_digest app2)" --at "$PG_NOW" --json
  [ "$status" -eq 1 ]
  jq -e '[.reasons[].code] | index("REVOKED_BASE")' <<<"$output" >/dev/null
}

@test "rebuilds: --dot is a Graphviz graph of the hierarchy" {
  lineage_db || return 1
  run "$PG_CLI" report rebuilds --db "$PG_DB" --dot
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/g.dot"
  dot -Tsvg "$BATS_TEST_TMPDIR/g.dot" >"$BATS_TEST_TMPDIR/g.svg" || pg_fail "dot refused: $output"
  # Four nodes; built FROM edges base1 -> app1, base1 -> base2 -> app2;
  # app1 outlined red; the older build points at the newer one.
  local rows
  rows=$(sqlite3 "$PG_DB" "SELECT image_id || ' ' || id FROM images")
  row() { awk -v d="$1" '$1 == d {print $2}' <<<"$rows"; }
  local b1 a1 b2 a2
  b1=$(row "$(pg_config_digest 1)")
  a1=$(row "$(pg_config_digest app1)")
  b2=$(row "$(pg_config_digest base2)")
  a2=$(row "$(pg_config_digest app2)")
  [ "$(grep -c '^  i[0-9]* \[label=' "$BATS_TEST_TMPDIR/g.dot")" -eq 4 ]
  grep -q "^  i$b1 -> i$a1;" "$BATS_TEST_TMPDIR/g.dot"
  grep -q "^  i$b1 -> i$b2;" "$BATS_TEST_TMPDIR/g.dot"
  grep -q "^  i$b2 -> i$a2;" "$BATS_TEST_TMPDIR/g.dot"
  grep -q "^  i$a1 .*color=red, penwidth=3" "$BATS_TEST_TMPDIR/g.dot"
  # Each node says its name, digest and last scan, a line each.
  grep -qF "i$a1 [label=\"localhost/pg-app:1\\n$(pg_config_digest app1 | cut -c1-19)\\nlast scan $(pg_days_ago 9)\"" \
    "$BATS_TEST_TMPDIR/g.dot" || pg_fail "no label for app1 in: $output"
  grep -q "^  i$b1 -> i$b2 \[style=dashed" "$BATS_TEST_TMPDIR/g.dot"
  grep -q '<svg' "$BATS_TEST_TMPDIR/g.svg"
}

# The real reports: nginx:latest is built FROM Debian 12 (its first layer
# is Debian's).  A base report made from it (that one layer, under
# debian:bookworm-slim) and a newer build of that base: nginx, scanned by
# Trivy and Grype, is one image to rebuild, with its last scan.
@test "rebuilds: the real nginx reports on a patched Debian base" {
  local d=$BATS_TEST_TMPDIR/real
  mkdir -p "$d"
  jq '.Metadata.DiffIDs |= .[:1] | .Results = [] | .ArtifactName = "debian:bookworm-slim"
      | .Metadata.ImageID = "sha256:\("1" * 64)" | .Metadata.RepoTags = ["debian:bookworm-slim"]
      | .Metadata.RepoDigests = ["debian@sha256:\("2" * 64)"] | .CreatedAt = "2025-05-01T00:00:00Z"' \
    "$REPORTS/trivy/nginx-debian12.json" >"$d/base-old.json"
  jq '.Metadata.DiffIDs = ["sha256:\("3" * 64)"] | .Metadata.ImageID = "sha256:\("4" * 64)"
      | .Metadata.RepoDigests = ["debian@sha256:\("5" * 64)"] | .CreatedAt = "2025-06-01T00:00:00Z"' \
    "$d/base-old.json" >"$d/base-new.json"
  pg_make_db "$PG_DB" "$PG_POLICY_FILE" "$d/base-old.json" "$d/base-new.json" \
    "$REPORTS/trivy/nginx-debian12.json" "$REPORTS/grype/nginx-debian12.json" \
    "$REPORTS/trivy/clamav-alpine.json" "$REPORTS/trivy/rockylinux-8.json" || return 1
  run "$PG_CLI" report rebuilds --db "$PG_DB" --json
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"
  [ "$(jq -r '.images_to_rebuild' <<<"$output")" = 1 ]
  [ "$(jq -r '.bases[0].names[0]' <<<"$output")" = docker.io/library/debian:bookworm-slim ]
  [ "$(jq -r '.bases[0].builds[0].digest' <<<"$output")" = "sha256:$(printf '1%.0s' {1..64})" ]
  [ "$(jq -r '.bases[0].builds[0].rebuild[0].digest' <<<"$output")" = \
    sha256:be69f2940aaf64fdf50c9c99420cbd57e10ee655ec7204df1c407e9af63d0cc1 ]
  [ "$(jq -r '.bases[0].builds[0].rebuild[0].names[0]' <<<"$output")" = docker.io/library/nginx:latest ]
  # The later of the two scans (Grype's, 7 s after Trivy's).
  [ "$(jq -r '.bases[0].builds[0].rebuild[0].last_scan' <<<"$output")" = 2025-06-08T16:39:32Z ]
}

@test "report --help, and a report that does not exist" {
  run "$PG_CLI" report --help
  [ "$status" -eq 0 ]
  grep -q 'Usage: patchgate report rebuilds' <<<"$output"
  run "$PG_CLI" report rebuilds --help
  [ "$status" -eq 0 ]
  run "$PG_CLI" report nothing
  [ "$status" -eq 2 ]
  run "$PG_CLI" report rebuilds --json --dot
  [ "$status" -eq 2 ]
}
