#!/usr/bin/env bats
# CRI-O: not packaged for Debian 12, so the test plays its part: a runc
# bundle carrying the annotations CRI-O sets (io.kubernetes.cri-o.ImageRef,
# ImageName, ...) whose container ID is a container in a real
# containers/storage store (podman's, with the images loaded by podman).
# The hook must find the image in both and refuse when they disagree.

load helpers
load engines

setup_file() {
  export PG_RUNTIME=runc
  pg_require podman skopeo runc || return 1
  pg_setup_file syslog || return 1
  pg_skipping && return 0
  pg_storage_setup || return 1
  # Storage containers (never started) for images 1 and 2: their IDs are
  # what CRI-O would hand runc.
  PG_SCID_1=$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" "$PG_REPO:1" /bin/true) ||
    pg_fail "podman create (image 1) failed" || return 1
  PG_SCID_2=$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" "$PG_REPO:2" /bin/true) ||
    pg_fail "podman create (image 2) failed" || return 1
  export PG_SCID_1 PG_SCID_2
}

teardown_file() {
  pg_teardown_file
}

setup() {
  pg_setup
  pg_storage_hook_config "$PG_DB" >"$PG_HOOK_CONFIG"
}

teardown() {
  pg_teardown
}

# crio_bundle NAME TAG [KEY=VALUE...] : a bundle of image TAG with CRI-O's
# annotations for it (ImageRef = its image ID, ImageName, the pod's), plus
# the extra ones, and no umoci.json.
crio_bundle() {
  local name=$1 tag=$2 c=PG_CONFIG_$2 b
  shift 2
  b=$(make_bundle "$name" "$tag" \
    "io.kubernetes.cri-o.ImageRef=${!c#sha256:}" \
    "io.kubernetes.cri-o.ImageName=$PG_REPO:$tag" \
    "io.kubernetes.cri-o.ContainerType=container" \
    "io.kubernetes.pod.namespace=default" \
    "io.kubernetes.pod.name=web" \
    "$@") || return 1
  rm -f "$b/umoci.json"
  echo "$b"
}

# run_as CID BUNDLE : runc run with the storage container's ID.
run_as() {
  echo "$1" >>"$BATS_TEST_TMPDIR/cids"
  rt_run "$1" "$2"
}

@test "crio: ImageRef and the store agree: identified (engine=crio), scanned image runs" {
  pg_db_scanned 1
  local b
  b=$(crio_bundle agree 1)
  run run_as "$PG_SCID_1" "$b"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$PG_SCID_1"
  assert_log decision allow
  assert_log engine crio
  assert_log digest "$PG_CONFIG_1"
  assert_log image "$PG_REPO:1"
  assert_log namespace default
  refute_output_contains conflict
}

@test "crio: the unscanned image is refused (UNSCANNED), named by ImageRef and the store" {
  pg_db_scanned 1
  local b
  b=$(crio_bundle unscanned 2)
  run run_as "$PG_SCID_2" "$b"
  assert_failure
  assert_output_contains "has never been scanned"
  wait_decision "$PG_SCID_2"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine crio
  assert_log digest "$PG_CONFIG_2"
}

@test "crio: a spoofed ImageRepoDigests annotation does not change the decision" {
  pg_db_scanned 1
  local b
  # Image 2 (unscanned) claims image 1's repo digest.
  b=$(crio_bundle spoof 2 "io.kubernetes.cri-o.ImageRepoDigests=[$PG_REPO@$PG_MANIFEST_1]")
  run run_as "$PG_SCID_2" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$PG_SCID_2"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log digest "$PG_CONFIG_2"
}

@test "crio: ImageRef and the store disagree: refused as UNIDENTIFIED, both values logged" {
  pg_db_scanned 1 1
  local b
  # ImageRef says image 1 (scanned), the store says container 2 runs image 2.
  b=$(make_bundle mismatch 2 "io.kubernetes.cri-o.ImageRef=${PG_CONFIG_1#sha256:}" \
    "io.kubernetes.cri-o.ImageName=$PG_REPO:1")
  rm -f "$b/umoci.json"
  run run_as "$PG_SCID_2" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "patchgate: refused container $PG_SCID_2"
  assert_output_contains "${PG_CONFIG_1#sha256:}"
  assert_output_contains "$PG_CONFIG_2"
  wait_decision "$PG_SCID_2"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  assert_log engine crio
  assert_log conflict "io.kubernetes.cri-o.ImageRef=${PG_CONFIG_1#sha256:} containers-storage=$PG_CONFIG_2"
  # No digest was believed.
  [ -z "$(logfmt_field "$syslog_line" digest)" ] || pg_fail "a digest was logged: $syslog_line"
}

@test "crio: without an ImageRef the store names the image" {
  pg_db_scanned 1
  local b
  b=$(make_bundle name-only 1 "io.kubernetes.cri-o.ImageName=$PG_REPO:1")
  rm -f "$b/umoci.json"
  run run_as "$PG_SCID_1" "$b"
  assert_success
  wait_decision "$PG_SCID_1"
  assert_log decision allow
  assert_log engine crio
  assert_log digest "$PG_CONFIG_1"
}

@test "crio: a container not in the store keeps ImageRef alone" {
  pg_db_scanned 1
  local b cid
  b=$(crio_bundle not-in-store 1)
  cid=$(printf '%064d' 7)
  run run_as "$cid" "$b"
  assert_success
  wait_decision "$cid"
  assert_log decision allow
  assert_log engine crio
  assert_log digest "$PG_CONFIG_1"
}
