#!/usr/bin/env bats
# Docker through patchgate-runtime: the test starts its own containerd and
# dockerd (own roots, sockets and pid files in the test directory; a tmpfs on
# /run in this file's private mount namespace catches what containerd puts
# there), registers the wrapper with the daemon.json that `make install`
# lays out, `docker load`s the test images and runs real containers.  The
# image is identified from dockerd's config.v2.json.

load helpers
load engines

# Debian's client, matching its dockerd, when it is there: another client
# (say a static one in /usr/local/bin) may sit earlier in PATH.
DOCKER_CLI=/usr/bin/docker
[ -x "$DOCKER_CLI" ] || DOCKER_CLI=$(command -v docker) || DOCKER_CLI=docker

dk() {
  timeout 120 "$DOCKER_CLI" -H "unix://$PG_DOCKER_DIR/docker.sock" "$@"
}

# stop_daemon PIDFILE : TERM, a bounded wait, then KILL.
stop_daemon() {
  local pid i
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

start_containerd() {
  local d=$PG_DOCKER_DIR/containerd i
  mkdir -p "$d"
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = "$d/debug.sock"
EOF
  # The shim, and so patchgate-runtime, inherit containerd's environment:
  # the real runc and the test's hook config.  PATCHGATE_NOW stays with the
  # wrapper: the hook entry it writes has an env of its own, so the hook
  # keeps its own clock (scans are dated relative to PG_NOW, an hour or two
  # ahead, which the real clock judges alike).
  PATCHGATE_RUNTIME=$(command -v runc) PATCHGATE_CONFIG=$PG_DOCKER_HOOK_CONFIG PATCHGATE_NOW=$PG_NOW \
    containerd --config "$d/config.toml" </dev/null >"$d/containerd.log" 2>&1 3>&- &
  echo $! >"$d/containerd.pid"
  for i in $(seq 100); do
    [ -S "$d/containerd.sock" ] && return 0
    sleep 0.1
  done
  tail -20 "$d/containerd.log" >&2
  pg_fail "containerd did not start"
}

start_dockerd() {
  local d=$PG_DOCKER_DIR i
  dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
    -H "unix://$d/docker.sock" --containerd "$d/containerd/containerd.sock" \
    --storage-driver vfs --iptables=false --bridge=none </dev/null >"$d/dockerd.log" 2>&1 3>&- &
  for i in $(seq 150); do
    [ -S "$d/docker.sock" ] && dk version >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  tail -30 "$d/dockerd.log" >&2
  pg_fail "dockerd did not start"
}

setup_file() {
  export PG_RUNTIME=runc
  pg_require docker dockerd containerd skopeo runc || return 1
  pg_setup_file syslog || return 1
  pg_skipping && return 0
  pg_install_tree || return 1
  [ -x "$PG_BUILD/patchgate-runtime" ] || pg_fail "$PG_BUILD/patchgate-runtime is missing" || return 1
  PG_DOCKER_DIR=$PG_WORK/docker
  PG_DOCKER_HOOK_CONFIG=$PG_DOCKER_DIR/hook.json
  export PG_DOCKER_DIR PG_DOCKER_HOOK_CONFIG
  mkdir -p "$PG_DOCKER_DIR"
  pg_in_private_mount_ns || pg_fail "not in a private mount namespace" || return 1
  mount -t tmpfs -o mode=0755 patchgate-run /run || pg_fail "cannot mount a private /run" || return 1

  # The installed daemon.json, the wrapper's path pointed at the build.
  local f=$PG_INST$PG_PREFIX/share/patchgate/docker-daemon.json
  jq -e --arg p "$PG_PREFIX/bin/patchgate-runtime" '.runtimes.patchgate.path == $p' "$f" >/dev/null ||
    pg_fail "$f does not name $PG_PREFIX/bin/patchgate-runtime" || return 1
  jq --arg p "$PG_BUILD/patchgate-runtime" '.runtimes.patchgate.path = $p' "$f" >"$PG_DOCKER_DIR/daemon.json"
  echo '{}' >"$PG_DOCKER_HOOK_CONFIG"

  start_containerd || return 1
  start_dockerd || return 1
  local tag id c
  for tag in 1 2; do
    skopeo copy -q "oci:$PG_LAYOUT:$tag" "docker-archive:$PG_WORK/docker-$tag.tar:$PG_REPO:$tag" ||
      pg_fail "skopeo copy to docker-archive failed" || return 1
    dk load -q -i "$PG_WORK/docker-$tag.tar" >/dev/null || pg_fail "docker load of image $tag failed" || return 1
    id=$(dk image inspect --format '{{.Id}}' "$PG_REPO:$tag") || return 1
    c=PG_CONFIG_$tag
    [ "$id" = "${!c}" ] || pg_fail "docker image ID $id is not the config digest ${!c}" || return 1
  done
}

teardown_file() {
  if [ -n "${PG_DOCKER_DIR:-}" ]; then
    dk ps -aq 2>/dev/null | xargs -r timeout 60 "$DOCKER_CLI" -H "unix://$PG_DOCKER_DIR/docker.sock" rm -f >/dev/null 2>&1
    stop_daemon "$PG_DOCKER_DIR/docker.pid"
    stop_daemon "$PG_DOCKER_DIR/containerd/containerd.pid"
    umount -l /run 2>/dev/null || true
  fi
  pg_teardown_file
}

setup() {
  pg_setup
  # containerd was started with this file's path in PATCHGATE_CONFIG.
  PG_HOOK_CONFIG=$PG_DOCKER_HOOK_CONFIG
  pg_hook_config "$PG_DB" | jq --arg d "$PG_DOCKER_DIR/data" '.docker_root = $d' >"$PG_HOOK_CONFIG"
}

teardown() {
  pg_teardown
}

# docker_run ARGS... : docker run with a cidfile, output and errors together.
docker_run() {
  rm -f "$BATS_TEST_TMPDIR/cid"
  dk run --cidfile "$BATS_TEST_TMPDIR/cid" --network none "$@" 2>&1
}

@test "docker: --runtime patchgate runs a scanned image; engine=docker, the image ID from config.v2.json" {
  pg_db_scanned 1
  local cid
  run docker_run --runtime patchgate "$PG_REPO:1" sh -c 'echo hello-from-container'
  assert_success
  assert_output_contains hello-from-container
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision allow
  assert_log engine docker
  assert_log digest "$PG_CONFIG_1"
  assert_log image "$PG_REPO:1"
  jq -e --arg d "$PG_CONFIG_1" '.Image == $d' "$PG_DOCKER_DIR/data/containers/$cid/config.v2.json" >/dev/null
}

@test "docker: an unscanned image is refused and docker shows patchgate's reason" {
  pg_db_scanned 1
  local cid
  run docker_run --runtime patchgate "$PG_REPO:2" sh -c 'echo hello-from-container'
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "patchgate: refused container"
  assert_output_contains "has never been scanned"
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine docker
  assert_log digest "$PG_CONFIG_2"
}

@test "docker: default-runtime patchgate gates a plain docker run (stale scan refused)" {
  pg_db_scanned 12
  local cid
  run docker_run "$PG_REPO:1" sh -c 'echo hello-from-container'
  assert_failure
  # The hook's clock is the real one, which PG_NOW leads by an hour or two.
  assert_output_matches "scanned 1[12] days ago"
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason SCAN_STALE
  assert_log engine docker
}

@test "docker: every start is checked: docker start after the scan record is gone is refused" {
  pg_db_scanned 1
  local cid
  cid=$(dk create --runtime patchgate --network none "$PG_REPO:1" sh -c 'echo hello-from-container') ||
    pg_fail "docker create failed"
  run dk start -a "$cid"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision allow

  # The same container, its image now unknown to the policy database.
  pg_make_db "$PG_DB" "$PG_POLICY_FILE"
  : >"$PG_SYSLOG_FILE"
  run dk start -a "$cid"
  assert_failure
  assert_output_contains "has never been scanned"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
}

@test "docker: --ulimit core=-1 (RLIM_INFINITY in config.json) still runs" {
  pg_db_scanned 1
  local cid
  run docker_run --runtime patchgate --ulimit core=-1 "$PG_REPO:1" sh -c 'echo hello-from-container'
  assert_success
  assert_output_contains hello-from-container
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision allow
  assert_log engine docker
}

@test "docker: a runc bundle given a Docker container's ID is not that container (its rootfs is not the layer's)" {
  pg_db_scanned 1
  local dcid b
  dcid=$(dk create --runtime patchgate --network none "$PG_REPO:1" sh -c 'echo hello-from-container') ||
    pg_fail "docker create failed"
  # The scanned image's config.v2.json at that ID; the bundle is the
  # unscanned image's, wired as Docker's (--engine docker).
  b=$(PG_HOOK_ENGINE=docker make_bundle docker-collide 2)
  rm -f "$b/umoci.json"
  echo "$dcid" >>"$BATS_TEST_TMPDIR/cids"
  run rt_run "$dcid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$dcid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  assert_log engine docker
  assert_log conflict "docker: config.v2.json of this container ID is for another rootfs"
  [ -z "$(logfmt_field "$syslog_line" digest)" ] || pg_fail "a digest was believed: $syslog_line"
}

@test "docker: patchgate doctor --canary proves the wiring through this dockerd, and catches runc as the default" {
  pg_db_scanned 1
  local doctor=("$PG_CLI" doctor --engine docker --canary --json --docker-daemon-json "$PG_DOCKER_DIR/daemon.json"
    --docker-host "unix://$PG_DOCKER_DIR/docker.sock" --config "$PG_DOCKER_HOOK_CONFIG")
  run "${doctor[@]}"
  jq -e '.checks[] | select(.engine == "docker" and .check == "canary" and .status == "ok")
           | select(.detail | contains("docker run: refused: patchgate: refused container"))' <<<"$output" >/dev/null ||
    pg_fail "the canary was not refused through dockerd: $output"
  jq -e '.checks[] | select(.engine == "docker" and .check == "default-runtime" and .status == "ok")' \
    <<<"$output" >/dev/null || pg_fail "default-runtime not ok: $output"
  run dk images --format '{{.Repository}}'
  refute_output_contains patchgate-canary

  # The same daemon.json without default-runtime: doctor fails it, and the
  # canary, started with runc, runs.
  jq 'del(."default-runtime")' "$PG_DOCKER_DIR/daemon.json" >"$BATS_TEST_TMPDIR/daemon.json"
  stop_daemon "$PG_DOCKER_DIR/docker.pid"
  cp "$PG_DOCKER_DIR/daemon.json" "$BATS_TEST_TMPDIR/daemon.json.orig"
  cp "$BATS_TEST_TMPDIR/daemon.json" "$PG_DOCKER_DIR/daemon.json"
  start_dockerd
  run "${doctor[@]}"
  cp "$BATS_TEST_TMPDIR/daemon.json.orig" "$PG_DOCKER_DIR/daemon.json"
  stop_daemon "$PG_DOCKER_DIR/docker.pid"
  start_dockerd
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  jq -e '.checks[] | select(.engine == "docker" and .check == "default-runtime" and .status == "fail")' \
    <<<"$output" >/dev/null || pg_fail "default-runtime not failed: $output"
  jq -e '.checks[] | select(.engine == "docker" and .check == "canary" and .status == "fail")
           | select(.detail | contains("RAN"))' <<<"$output" >/dev/null ||
    pg_fail "the canary did not run under runc: $output"
}

@test "docker: patchgate audit finds a running container under dockerd's exec root (engine docker) and decides it again" {
  pg_db_scanned 1
  local cid out=$BATS_TEST_TMPDIR/audit.json rc=0
  cid=$(dk run -d --runtime patchgate --network none "$PG_REPO:1" sleep 3600) || pg_fail "docker run -d failed"
  wait_decision "$cid"
  assert_log decision allow
  "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --root "docker=$PG_DOCKER_DIR/exec" --at "$PG_NOW" --json >"$out" || rc=$?
  [ "$rc" -eq 0 ] || pg_fail "audit exit $rc: $(cat "$out")"
  jq -e --arg id "$cid" --arg d "$PG_CONFIG_1" --arg img "$PG_REPO:1" '.[] | select(.container == $id)
      | .engine == "docker" and .digest == $d and .image == $img and .decision == "allow"
        and .containerd_namespace == "moby" and (.state | endswith("/moby/\($id)"))' "$out" >/dev/null ||
    pg_fail "no allowed docker row for $cid: $(cat "$out")"

  pg_policy '.version = "pg-test-2" | .defaults.max_scan_age = "12h"' >"$BATS_TEST_TMPDIR/tight.json"
  "$PG_CLI" policy set --db "$PG_DB" "$BATS_TEST_TMPDIR/tight.json" >/dev/null
  rc=0
  "$PG_CLI" audit --config "$PG_HOOK_CONFIG" --root "docker=$PG_DOCKER_DIR/exec" --at "$PG_NOW" --json >"$out" || rc=$?
  [ "$rc" -eq 1 ] || pg_fail "audit exit $rc, expected 1: $(cat "$out")"
  jq -e --arg id "$cid" '.[] | select(.container == $id)
      | .engine == "docker" and .decision == "deny" and .reasons == ["SCAN_STALE"] and .check.policy == "pg-test-2"' \
    "$out" >/dev/null || pg_fail "no refused docker row for $cid: $(cat "$out")"
  [ "$(dk inspect -f '{{.State.Running}}' "$cid")" = true ] || pg_fail "the container no longer runs after the audit"
  dk rm -f "$cid" >/dev/null
}
