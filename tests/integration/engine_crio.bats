#!/usr/bin/env bats
# CRI-O: not packaged for Debian 12, so the test plays its part, on a real
# containers/storage store (podman's, the images loaded by podman) and real
# runc, laid out as CRI-O lays it out:
# - the container is a storage container whose record carries CRI-O's
#   metadata (pod-name, pod-id: CRI-O records them for every container it
#   creates, podman never does);
# - the bundle is that container's run directory,
#   <runroot>/<driver>-containers/<id>/userdata, holding config.json with the
#   annotations CRI-O sets (io.kubernetes.cri-o.ImageRef, ImageName, the
#   pod's namespace, ...);
# - the hook is added to config.json from the hooks.d file that `make
#   install` lays out, as CRI-O does with every file in its hooks_dir.
# The hook must prove CRI-O from the store, find the image there, and
# refuse when the annotations disagree with it.

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
  pg_hooks_dir "$BATS_TEST_TMPDIR/hooks.d"
}

teardown() {
  pg_podman rm -a -f >/dev/null 2>&1 || true
  pg_teardown
}

# crio_container TAG : a storage container of image TAG, its record made
# CRI-O's (pod-name and pod-id in its metadata, as CRI-O's
# RuntimeContainerMetadata has them); prints its ID.
crio_container() {
  local cid f=$PG_STORAGE_ROOT/vfs-containers/containers.json
  cid=$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" "$PG_REPO:$1" /bin/true) ||
    pg_fail "podman create (image $1) failed" || return 1
  jq --arg id "$cid" --arg pod "$(printf '%064d' 9)" '
      map(if .id == $id
          then .metadata = (.metadata | fromjson | . + {"pod-name": "web", "pod-id": $pod,
                                                       "metadata-name": "app"} | tojson)
          else . end)' "$f" >"$f.new" && mv "$f.new" "$f" || return 1
  echo "$cid"
}

# crio_bundle CID TAG [KEY=VALUE...] : CID's run directory made the bundle
# CRI-O would hand runc: config.json of image TAG (its root the unpacked
# image) with CRI-O's annotations for it (ImageRef = its image ID,
# ImageName, the pod's), plus the extra ones, wired from the hooks.d file
# ($PG_CRIO_HOOKSD, default the installed one).  Prints the bundle path.
crio_bundle() {
  local cid=$1 tag=$2 c=PG_CONFIG_$2 b ud
  shift 2
  b=$(PG_HOOK_STAGE=none make_bundle "crio-$cid" "$tag" \
    "io.kubernetes.cri-o.ImageRef=${!c#sha256:}" \
    "io.kubernetes.cri-o.ImageName=$PG_REPO:$tag" \
    "io.kubernetes.cri-o.ContainerType=container" \
    "io.kubernetes.pod.namespace=default" \
    "io.kubernetes.pod.name=web" \
    "$@") || return 1
  ud=$PG_STORAGE_RUNROOT/vfs-containers/$cid/userdata
  mkdir -p "$ud"
  jq --arg root "$b/rootfs" '.root.path = $root' "$b/config.json" >"$ud/config.json" || return 1
  pg_wire_from_hooksd "$ud" "${PG_CRIO_HOOKSD:-$BATS_TEST_TMPDIR/hooks.d/patchgate.json}" || return 1
  echo "$ud"
}

# run_as CID BUNDLE : runc run with the storage container's ID.
run_as() {
  echo "$1" >>"$BATS_TEST_TMPDIR/cids"
  rt_run "$1" "$2"
}

@test "crio: the installed hooks.d file serves CRI-O and podman alike (--engine containers-storage)" {
  run jq -c '.hook.args' "$PG_INST$PG_PREFIX/share/containers/oci/hooks.d/patchgate.json"
  assert_success
  [ "$output" = '["patchgate-hook","--config","/etc/patchgate/hook.json","--engine","containers-storage"]' ] ||
    pg_fail "hooks.d args: $output"
}

@test "crio: CRI-O's record at its bundle, ImageRef agrees: identified (engine=crio), scanned image runs" {
  pg_db_scanned 1
  local cid b
  cid=$(crio_container 1)
  b=$(crio_bundle "$cid" 1)
  run run_as "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision allow
  assert_log engine crio
  assert_log digest "$PG_CONFIG_1"
  assert_log image "$PG_REPO:1"
  assert_log namespace default
  refute_output_contains conflict
}

@test "crio: the unscanned image is refused (UNSCANNED), named by the store" {
  pg_db_scanned 1
  local cid b
  cid=$(crio_container 2)
  b=$(crio_bundle "$cid" 2)
  run run_as "$cid" "$b"
  assert_failure
  assert_output_contains "has never been scanned"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine crio
  assert_log digest "$PG_CONFIG_2"
}

@test "crio: a spoofed ImageRepoDigests annotation does not change the decision" {
  pg_db_scanned 1
  local cid b
  cid=$(crio_container 2)
  # Image 2 (unscanned) claims image 1's repo digest.
  b=$(crio_bundle "$cid" 2 "io.kubernetes.cri-o.ImageRepoDigests=[$PG_REPO@$PG_MANIFEST_1]")
  run run_as "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log digest "$PG_CONFIG_2"
}

@test "crio: ImageRef and the store disagree: refused as UNIDENTIFIED, both values logged" {
  pg_db_scanned 1 1
  local cid b
  cid=$(crio_container 2)
  # ImageRef says image 1 (scanned), the store says the container runs image 2.
  b=$(crio_bundle "$cid" 2 "io.kubernetes.cri-o.ImageRef=${PG_CONFIG_1#sha256:}" \
    "io.kubernetes.cri-o.ImageName=$PG_REPO:1")
  run run_as "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "patchgate: refused container $cid"
  assert_output_contains "${PG_CONFIG_1#sha256:}"
  assert_output_contains "$PG_CONFIG_2"
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  assert_log engine crio
  assert_log conflict "io.kubernetes.cri-o.ImageRef=${PG_CONFIG_1#sha256:} containers-storage=$PG_CONFIG_2"
  # No digest was believed.
  [ -z "$(logfmt_field "$syslog_line" digest)" ] || pg_fail "a digest was logged: $syslog_line"
}

@test "crio: without an ImageRef the store names the image; ImageName never does" {
  pg_db_scanned 1
  local cid b
  cid=$(crio_container 1)
  b=$(crio_bundle "$cid" 1 "io.kubernetes.cri-o.ImageName=registry.example.com/payments/app:1")
  jq 'del(.annotations["io.kubernetes.cri-o.ImageRef"])' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
  run run_as "$cid" "$b"
  assert_success
  wait_decision "$cid"
  assert_log decision allow
  assert_log engine crio
  assert_log digest "$PG_CONFIG_1"
  assert_log image "$PG_REPO:1"
}

@test "crio: the pod's namespace, from a proven CRI-O, selects the policy's scope" {
  pg_policy '.scopes = [{"name": "system", "match": {"namespace": "kube-system"}, "mode": "audit"}]' \
    >"$PG_POLICY_FILE"
  pg_db_scanned 12
  local cid b
  cid=$(crio_container 1)
  b=$(crio_bundle "$cid" 1 "io.kubernetes.pod.namespace=kube-system")
  run run_as "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision audit
  assert_log_reason SCAN_STALE
  assert_log scope system
  assert_log namespace kube-system

  # The same stale image in another namespace is refused.
  cid=$(crio_container 1)
  b=$(crio_bundle "$cid" 1 "io.kubernetes.pod.namespace=prod")
  run run_as "$cid" "$b"
  assert_failure
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason SCAN_STALE
}

@test "crio: a container not in the store, CRI-O's annotations notwithstanding, is unidentified" {
  pg_db_scanned 1
  local b cid
  cid=$(printf '%064d' 7)
  b=$(crio_bundle "$cid" 1)
  run run_as "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  [ -z "$(logfmt_field "$syslog_line" namespace)" ] || pg_fail "a namespace was believed: $syslog_line"
}

@test "crio: CRI-O's own hooks_dir with --engine crio (the README's alternative) works alike, and refuses podman's record" {
  jq '.hook.args |= (index("--engine") as $i | .[:$i + 1] + ["crio"] + .[$i + 2:])' \
    "$BATS_TEST_TMPDIR/hooks.d/patchgate.json" >"$BATS_TEST_TMPDIR/crio-hooks.json"
  PG_CRIO_HOOKSD=$BATS_TEST_TMPDIR/crio-hooks.json
  pg_db_scanned 1
  local cid b
  cid=$(crio_container 1)
  b=$(crio_bundle "$cid" 1)
  run run_as "$cid" "$b"
  assert_success
  wait_decision "$cid"
  assert_log decision allow
  assert_log engine crio
  assert_log namespace default

  # A podman container (no pod in its record) handed to CRI-O's hook.
  cid=$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" "$PG_REPO:1" /bin/true) || pg_fail "podman create failed"
  b=$(crio_bundle "$cid" 1)
  run run_as "$cid" "$b"
  assert_failure
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  assert_log engine crio
  assert_log conflict "containers-storage: this container's record is not CRI-O's \\(no pod\\)"
}
