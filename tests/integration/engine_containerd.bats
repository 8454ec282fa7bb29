#!/usr/bin/env bats
# containerd: the test starts its own containerd (own root, state and socket
# in the test directory; a tmpfs on /run in this file's private mount
# namespace catches its shim sockets) with the config.toml snippet and the
# base runtime spec that `make install` lays out.  There is no CRI client in
# Debian 12 (no crictl), so the CRI plugin is only checked to load the base
# spec; containers are started with ctr: one from the base spec itself
# (`ctr run --config`), and images through patchgate-runtime as containerd's
# runc binary.  Both carry the annotations the CRI plugin sets, and the
# image is identified only when io.kubernetes.cri.image-name is pinned by
# digest.

load helpers
load engines

ctr_() {
  timeout 120 ctr --address "$PG_CTRD_DIR/containerd.sock" -n patchgate-test "$@"
}

stop_containerd() {
  local pid i
  [ -s "$PG_CTRD_DIR/containerd.pid" ] || return 0
  pid=$(cat "$PG_CTRD_DIR/containerd.pid")
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# The installed config.toml, its base spec path pointed at the test's copy,
# under a header that keeps containerd's files in the test directory.
write_containerd_config() {
  local d=$PG_CTRD_DIR src=$PG_INST$PG_PREFIX/share/patchgate/containerd-config.toml
  grep -q '^ *base_runtime_spec = "/etc/containerd/patchgate-base-spec.json"' "$src" ||
    pg_fail "$src does not set base_runtime_spec" || return 1
  {
    cat <<EOF
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = "$d/debug.sock"
EOF
    grep -v '^version = ' "$src" | sed "s|/etc/containerd/patchgate-base-spec.json|$d/base-spec.json|"
  } >"$d/config.toml"
}

# The installed base spec, its hook pointed at the build and the file's
# hook config, with the test clock.
write_base_spec() {
  local src=$PG_INST$PG_PREFIX/share/patchgate/containerd-base-spec.json
  jq -e --arg p "$PG_PREFIX/libexec/oci/hooks.d/patchgate-hook" '.hooks.createRuntime[0].path == $p' "$src" \
    >/dev/null || pg_fail "$src: the hook is not $PG_PREFIX/libexec/oci/hooks.d/patchgate-hook" || return 1
  jq -e '.hooks.createRuntime[0].args | index("--engine") as $i | $i != null and .[$i + 1] == "containerd"' \
    "$src" >/dev/null || pg_fail "$src: the hook is not wired with --engine containerd" || return 1
  jq --arg path "$PG_HOOK_BIN" --arg cfg "$PG_CTRD_HOOK_CONFIG" --argjson env "$(pg_hook_env_json)" "
      .hooks.createRuntime[0].path = \$path
    | .hooks.createRuntime[0].args |= ($PG_HOOK_ARGS_JQ)
    | .hooks.createRuntime[0].env = \$env" "$src" >"$PG_CTRD_DIR/base-spec.json"
}

setup_file() {
  export PG_RUNTIME=runc
  pg_require containerd ctr skopeo runc || return 1
  pg_setup_file syslog || return 1
  pg_skipping && return 0
  pg_install_tree || return 1
  PG_CTRD_DIR=$PG_WORK/containerd
  PG_CTRD_HOOK_CONFIG=$PG_CTRD_DIR/hook.json
  export PG_CTRD_DIR PG_CTRD_HOOK_CONFIG
  mkdir -p "$PG_CTRD_DIR"
  echo '{}' >"$PG_CTRD_HOOK_CONFIG"
  pg_in_private_mount_ns || pg_fail "not in a private mount namespace" || return 1
  mount -t tmpfs -o mode=0755 patchgate-run /run || pg_fail "cannot mount a private /run" || return 1
  write_base_spec || return 1
  write_containerd_config || return 1
  # patchgate-runtime (as the runc binary) inherits containerd's environment;
  # PATCHGATE_NOW does not reach the hook through it (its entry has an env
  # of its own), only through the base spec's hook env.
  PATCHGATE_RUNTIME=$(command -v runc) PATCHGATE_CONFIG=$PG_CTRD_HOOK_CONFIG PATCHGATE_NOW=$PG_NOW \
    containerd --config "$PG_CTRD_DIR/config.toml" </dev/null >"$PG_CTRD_DIR/containerd.log" 2>&1 3>&- &
  echo $! >"$PG_CTRD_DIR/containerd.pid"
  local i tag
  for i in $(seq 100); do
    [ -S "$PG_CTRD_DIR/containerd.sock" ] && ctr_ version >/dev/null 2>&1 && break
    sleep 0.1
  done
  ctr_ version >/dev/null || pg_fail "containerd did not start: $(tail -20 "$PG_CTRD_DIR/containerd.log")" || return 1
  for tag in 1 2; do
    skopeo copy -q "oci:$PG_LAYOUT:$tag" "oci-archive:$PG_WORK/ctrd-$tag.tar:$PG_REPO:$tag" &&
      ctr_ images import "$PG_WORK/ctrd-$tag.tar" >/dev/null || pg_fail "ctr images import (image $tag) failed" || return 1
  done
}

teardown_file() {
  if [ -n "${PG_CTRD_DIR:-}" ]; then
    stop_containerd
    umount -l /run 2>/dev/null || true
  fi
  pg_teardown_file
}

setup() {
  pg_setup
  PG_HOOK_CONFIG=$PG_CTRD_HOOK_CONFIG
  pg_hook_config "$PG_DB" >"$PG_HOOK_CONFIG"
}

teardown() {
  local id
  for id in $(ctr_ containers ls -q 2>/dev/null); do
    ctr_ tasks kill -s KILL "$id" >/dev/null 2>&1
    ctr_ tasks delete "$id" >/dev/null 2>&1
    ctr_ containers delete "$id" >/dev/null 2>&1
  done
  pg_teardown
}

# cri_annotations IMAGE-NAME : the ctr flags for the annotations the CRI
# plugin sets on a container.
cri_annotations() {
  echo "--annotation io.kubernetes.cri.container-type=container --annotation io.kubernetes.cri.image-name=$1" \
    "--annotation io.kubernetes.cri.sandbox-namespace=default"
}

# base_spec_run ID IMAGE-TAG IMAGE-NAME : a container made from the base
# spec alone (`ctr run --config`), its root the unpacked image, annotated as
# the CRI plugin would.
base_spec_run() {
  local id=$1 b
  b=$(PG_HOOK_STAGE=none make_bundle "base-$id" "$2") || return 1
  jq --arg root "$b/rootfs" --arg name "$3" '
      .root.path = $root
    | .process.args = ["/bin/sh", "-c", "echo hello-from-container"]
    | .annotations = {"io.kubernetes.cri.container-type": "container",
                      "io.kubernetes.cri.image-name": $name,
                      "io.kubernetes.cri.sandbox-namespace": "default"}' \
    "$PG_CTRD_DIR/base-spec.json" >"$BATS_TEST_TMPDIR/spec-$id.json"
  ctr_ run --rm --config "$BATS_TEST_TMPDIR/spec-$id.json" "$id" </dev/null 2>&1
}

@test "containerd: the CRI plugin loads with the installed base_runtime_spec" {
  run ctr_ plugins ls
  assert_success
  assert_output_matches 'io\.containerd\.grpc\.v1 +cri +[^ ]+ +ok'
  grep -q "BaseRuntimeSpec:$PG_CTRD_DIR/base-spec.json" "$PG_CTRD_DIR/containerd.log" ||
    pg_fail "containerd's CRI config does not name the base spec"
}

@test "containerd: a container from the base spec, image pinned by digest and scanned, runs (engine=containerd)" {
  pg_db_scanned 1
  local id=pg-ctrd-base-ok
  run base_spec_run "$id" 1 "$PG_REPO@$PG_MANIFEST_1"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$id"
  assert_log decision allow
  assert_log engine containerd
  assert_log digest "$PG_MANIFEST_1"
  assert_log namespace default
}

@test "containerd: base spec: pinned but unscanned is refused; a tag alone is UNIDENTIFIED" {
  pg_db_scanned 1
  local id=pg-ctrd-base-unscanned
  run base_spec_run "$id" 2 "$PG_REPO@$PG_MANIFEST_2"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "has never been scanned"
  wait_decision "$id"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine containerd

  id=pg-ctrd-base-tag
  run base_spec_run "$id" 1 "$PG_REPO:1"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$id"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  assert_log engine containerd
  assert_log image "$PG_REPO:1"
}

@test "containerd: patchgate-runtime as the runc binary gates ctr; ctr's own CRI annotations are not containerd's word" {
  pg_db_scanned 1
  local id=pg-ctrd-wrap-forged
  # The wrapper's hook definition does not say containerd (only the base
  # spec, which only the CRI plugin uses, does), and whoever runs ctr wrote
  # these annotations: a scanned image pinned by them is still unidentified.
  # shellcheck disable=SC2046
  run ctr_ run --rm --runc-binary "$PG_BUILD/patchgate-runtime" $(cri_annotations "$PG_REPO@$PG_MANIFEST_1") \
    "$PG_REPO:1" "$id" /bin/sh -c 'echo hello-from-container'
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$id"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  [ "$(logfmt_field "$syslog_line" engine)" != containerd ] || pg_fail "taken for containerd's: $syslog_line"
  [ -z "$(logfmt_field "$syslog_line" namespace)" ] || pg_fail "a namespace was believed: $syslog_line"

  id=pg-ctrd-wrap-unscanned
  # shellcheck disable=SC2046
  run ctr_ run --rm --runc-binary "$PG_BUILD/patchgate-runtime" $(cri_annotations "$PG_REPO@$PG_MANIFEST_2") \
    "$PG_REPO:2" "$id" /bin/sh -c 'echo hello-from-container'
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$id"
  assert_log decision deny
}

@test "containerd: patchgate audit finds a running CRI container in containerd's default root (engine containerd) and decides it again" {
  pg_db_scanned 1
  local id=pg-ctrd-audit b out=$BATS_TEST_TMPDIR/audit.json rc=0
  b=$(PG_HOOK_STAGE=none make_bundle "base-$id" 1) || pg_fail "make_bundle failed"
  jq --arg root "$b/rootfs" --arg name "$PG_REPO@$PG_MANIFEST_1" '
      .root.path = $root
    | .process.args = ["/bin/sleep", "3600"]
    | .annotations = {"io.kubernetes.cri.container-type": "container",
                      "io.kubernetes.cri.image-name": $name,
                      "io.kubernetes.cri.sandbox-namespace": "default"}' \
    "$PG_CTRD_DIR/base-spec.json" >"$BATS_TEST_TMPDIR/spec-$id.json"
  ctr_ run -d --config "$BATS_TEST_TMPDIR/spec-$id.json" "$id" </dev/null >"$BATS_TEST_TMPDIR/ctr.log" 2>&1 ||
    pg_fail "ctr run -d failed: $(cat "$BATS_TEST_TMPDIR/ctr.log")"
  wait_decision "$id"
  assert_log decision allow
  # /run is this file's tmpfs: containerd's runc shim root is the default one.
  [ -f "/run/containerd/runc/patchgate-test/$id/state.json" ] || pg_fail "no state in containerd's default runc root"
  "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --at "$PG_NOW" --json >"$out" || rc=$?
  [ "$rc" -eq 0 ] || pg_fail "audit exit $rc: $(cat "$out")"
  jq -e --arg id "$id" --arg d "$PG_MANIFEST_1" '.[] | select(.container == $id)
      | .engine == "containerd" and .digest == $d and .decision == "allow" and .containerd_namespace == "patchgate-test"
        and (.check.log | test(" namespace=default( |$)"))' "$out" >/dev/null ||
    pg_fail "no allowed containerd row for $id: $(cat "$out")"

  pg_policy '.version = "pg-test-2" | .defaults.max_scan_age = "12h"' >"$BATS_TEST_TMPDIR/tight.json"
  "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/tight.json" >/dev/null
  rc=0
  "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --at "$PG_NOW" --json >"$out" || rc=$?
  [ "$rc" -eq 1 ] || pg_fail "audit exit $rc, expected 1: $(cat "$out")"
  jq -e --arg id "$id" '.[] | select(.container == $id)
      | .engine == "containerd" and .decision == "deny" and .reasons == ["SCAN_STALE"]' "$out" >/dev/null ||
    pg_fail "no refused containerd row for $id: $(cat "$out")"
  ctr_ tasks ls | grep -Eq "^$id +[0-9]+ +RUNNING" || pg_fail "the task no longer runs after the audit: $(ctr_ tasks ls)"
}
