#!/usr/bin/env bats
# Whoever may create containers writes annotations, names and tags images
# and picks container IDs: none of it may choose the engine, the image,
# the image's name or the namespace.  The review's findings 1, 2, 3 and 8,
# reproduced as an attacker would, under real runc (the hook wired as
# runtime-config/runc-hook-snippet.json wires it) and real podman (the
# installed hooks.d file, through --hooks-dir), each decision read back
# from a real rsyslogd's log.  Image 1 is scanned, image 2 never is.

load helpers
load engines

setup_file() {
  export PG_RUNTIME=runc
  pg_require podman skopeo runc || return 1
  pg_setup_file syslog || return 1
  pg_skipping && return 0
  pg_install_tree || return 1
  pg_storage_setup || return 1
}

teardown_file() {
  pg_teardown_file
}

setup() {
  pg_setup
  pg_storage_hook_config "$PG_DB" >"$PG_HOOK_CONFIG"
  PG_PODMAN_HOOKS_DIR=$BATS_TEST_TMPDIR/hooks.d
  export PG_PODMAN_HOOKS_DIR
  pg_hooks_dir "$PG_PODMAN_HOOKS_DIR"
}

teardown() {
  pg_podman rm -a -f >/dev/null 2>&1 || true
  pg_teardown
}

# runc_bundle NAME TAG [KEY=VALUE...] : a bundle of image TAG (with its
# umoci.json) and the annotations, the hook wired by the runc snippet.
runc_bundle() {
  local b
  b=$(PG_HOOK_STAGE=none make_bundle "$@") || return 1
  pg_wire_runc_snippet "$b" || return 1
  echo "$b"
}

# podman_run CIDFILE ARGS... : podman run, stdout and stderr together.
podman_run() {
  local cidfile=$1
  shift
  pg_podman run --cidfile "$cidfile" "${PG_PODMAN_RUN_FLAGS[@]}" "$@" 2>&1
}

# refute_log KEY : the decision line has no field KEY (or an empty one).
refute_log() {
  [ -z "$(logfmt_field "$syslog_line" "$1")" ] || pg_fail "syslog has $1: $syslog_line"
}

@test "wiring: the runc snippet, the hooks.d files and the containerd base spec each name their engine" {
  local src=$PG_INST$PG_PREFIX/share
  [ "$(jq -c '.hooks.createRuntime[0].args[-2:]' "$PG_SRC/runtime-config/runc-hook-snippet.json")" = '["--engine","runc"]' ] ||
    pg_fail "runc snippet: $(jq -c .hooks "$PG_SRC/runtime-config/runc-hook-snippet.json")"
  [ "$(jq -c '.hook.args[-2:]' "$src/containers/oci/hooks.d/patchgate.json")" = '["--engine","containers-storage"]' ] ||
    pg_fail "hooks.d: $(jq -c .hook "$src/containers/oci/hooks.d/patchgate.json")"
  [ "$(jq -c '.hook.args[-2:]' "$src/patchgate/patchgate-prestart.json.example")" = '["--engine","containers-storage"]' ] ||
    pg_fail "prestart hooks.d: $(jq -c .hook "$src/patchgate/patchgate-prestart.json.example")"
  [ "$(jq -c '.hooks.createRuntime[0].args[-2:]' "$src/patchgate/containerd-base-spec.json")" = '["--engine","containerd"]' ] ||
    pg_fail "containerd base spec: $(jq -c .hooks "$src/patchgate/containerd-base-spec.json")"
}

@test "finding 1, runc: CRI-O's ImageRef naming the scanned image does not identify an unscanned bundle" {
  pg_db_scanned 1
  local b cid
  b=$(runc_bundle forged-imageref 2 "io.kubernetes.cri-o.ImageRef=${PG_CONFIG_1#sha256:}" \
    "io.kubernetes.cri-o.ImageName=$PG_REPO:1" "io.kubernetes.cri-o.ContainerType=container")
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "has never been scanned"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine runc
  assert_log digest "$(digest_re 2)"

  # Without umoci.json nothing of the bundle's names the image.
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  assert_log engine runc
  refute_log digest
}

@test "finding 1, runc: io.kubernetes.cri.image-name pinned to the scanned image does not make a bundle containerd's" {
  pg_db_scanned 1
  local b cid
  b=$(runc_bundle forged-cri 2 "io.kubernetes.cri.container-type=container" \
    "io.kubernetes.cri.image-name=$PG_REPO@$PG_MANIFEST_1" "io.kubernetes.cri.sandbox-namespace=kube-system")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  assert_log engine runc
  refute_log digest
  refute_log namespace
}

@test "finding 1, podman: --annotation with CRI-O's ImageRef for the scanned image; the store names the unscanned one" {
  pg_db_scanned 1
  local cid
  run podman_run "$BATS_TEST_TMPDIR/cid" --annotation "io.kubernetes.cri-o.ImageRef=${PG_CONFIG_1#sha256:}" \
    --annotation "io.kubernetes.cri-o.ImageName=$PG_REPO:1" "$PG_REPO:2" /bin/sh -c 'echo hello-from-container'
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "has never been scanned"
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine podman
  assert_log digest "$PG_CONFIG_2"
  assert_log image "$PG_REPO:2"
}

@test "finding 2, podman: CRI-O's keys and io.kubernetes.pod.namespace=kube-system select no scope" {
  pg_policy '.scopes = [{"name": "system", "match": {"namespace": "kube-system"}, "mode": "audit"}]' \
    >"$PG_POLICY_FILE"
  pg_db_scanned 1
  local cid
  run podman_run "$BATS_TEST_TMPDIR/cid" --annotation io.kubernetes.cri-o.ImageName=x \
    --annotation io.kubernetes.pod.namespace=kube-system "$PG_REPO:2" /bin/sh -c 'echo hello-from-container'
  assert_failure
  refute_output_contains hello-from-container
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine podman
  assert_log scope defaults
  assert_log mode enforce
  refute_log namespace
}

@test "finding 2, runc: a bare bundle's io.kubernetes.pod.namespace=kube-system selects no scope" {
  pg_policy '.scopes = [{"name": "system", "match": {"namespace": "kube-system"}, "mode": "audit"}]' \
    >"$PG_POLICY_FILE"
  pg_db_scanned 1
  local b cid
  b=$(runc_bundle forged-ns 2 io.kubernetes.cri-o.ImageName=x io.kubernetes.pod.namespace=kube-system \
    io.kubernetes.cri.sandbox-namespace=kube-system)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision deny
  assert_log scope defaults
  refute_log namespace
}

@test "finding 3, podman: io.kubernetes.cri-o.ImageName does not rename the image (nor select its scope)" {
  pg_policy '.scopes = [{"name": "payments", "match": {"repository": "registry.example.com/payments/*"},
                         "mode": "audit"}]' >"$PG_POLICY_FILE"
  pg_db_scanned 12
  local cid
  run podman_run "$BATS_TEST_TMPDIR/cid" --annotation io.kubernetes.cri-o.ImageName=registry.example.com/payments/app:1 \
    "$PG_REPO:1" /bin/sh -c 'echo hello-from-container'
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "scanned 12 days ago"
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason SCAN_STALE
  assert_log image "$PG_REPO:1"
  assert_log scope defaults
  assert_log engine podman
}

@test "finding 8, runc: a bundle given a podman container's ID is identified by its own umoci.json" {
  pg_db_scanned 1
  local b pcid
  pcid=$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" "$PG_REPO:1" /bin/true) || pg_fail "podman create failed"
  b=$(runc_bundle collide 2)
  echo "$pcid" >>"$BATS_TEST_TMPDIR/cids"
  run rt_run "$pcid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "has never been scanned"
  wait_decision "$pcid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine runc
  assert_log digest "$(digest_re 2)"
}

@test "finding 8, shared hooks.d and unwired: the podman record of that ID is for another bundle: ignored, logged" {
  pg_db_scanned 1
  local b pcid
  pcid=$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" "$PG_REPO:1" /bin/true) || pg_fail "podman create failed"
  echo "$pcid" >>"$BATS_TEST_TMPDIR/cids"
  # As if run by something that reads podman's hooks.d (--engine
  # containers-storage): no engine's record of this bundle, unidentified.
  b=$(PG_HOOK_STAGE=none make_bundle collide-shared 2)
  pg_wire_from_hooksd "$b" "$PG_PODMAN_HOOKS_DIR/patchgate.json"
  run rt_run "$pcid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "for another bundle"
  wait_decision "$pcid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  assert_log conflict "containers-storage: the record of this container ID is for another bundle"
  refute_log digest

  # A hook definition naming no engine: the record is noted, umoci.json names the image.
  b=$(make_bundle collide-unwired 2)
  run rt_run "$pcid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$pcid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log digest "$(digest_re 2)"
  assert_log conflict "containers-storage: the record of this container ID is for another bundle"
}

@test "wiring: a hook definition naming an unknown engine refuses (exit 2), it never guesses" {
  pg_db_scanned 1
  local b cid
  b=$(PG_HOOK_ENGINE=cri-o make_bundle unknown-engine 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_matches "$(exit2_re)"
  assert_output_contains "is not an engine"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons POLICY_ERROR
}
