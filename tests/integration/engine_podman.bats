#!/usr/bin/env bats
# podman through oci-hooks(5): the hooks.d file that `make install` lays
# out, podman's own store (containers/storage, vfs) as the image's identity,
# real containers under runc.

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

# podman_run CIDFILE ARGS... : podman run, stdout and stderr together.
podman_run() {
  local cidfile=$1
  shift
  pg_podman run --cidfile "$cidfile" "${PG_PODMAN_RUN_FLAGS[@]}" "$@" 2>&1
}

@test "podman: the installed hooks.d file names the installed hook, at createRuntime, always" {
  local f=$PG_INST$PG_PREFIX/share/containers/oci/hooks.d/patchgate.json
  run jq -r '[.version, .when.always, (.stages | join(",")), .hook.path] | join(" ")' "$f"
  assert_success
  [ "$output" = "1.0.0 true createRuntime $PG_PREFIX/libexec/oci/hooks.d/patchgate-hook" ] ||
    pg_fail "unexpected hooks.d file: $output"
  run jq -r '.stages | join(",")' "$PG_INST$PG_PREFIX/share/patchgate/patchgate-prestart.json.example"
  [ "$output" = prestart ] || pg_fail "prestart example: $output"
}

@test "podman: a scanned image runs; syslog says allow, engine=podman, the image ID from storage" {
  pg_db_scanned 1
  local cid
  run podman_run "$BATS_TEST_TMPDIR/cid" "$PG_REPO:1" /bin/sh -c 'echo hello-from-container'
  assert_success
  assert_output_contains hello-from-container
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision allow
  assert_log engine podman
  assert_log digest "$PG_CONFIG_1"
  assert_log image "$PG_REPO:1"
  assert_log policy "$PG_POLICY_VERSION"
}

@test "podman: an unscanned image is refused and podman shows patchgate's reason" {
  pg_db_scanned 1
  local cid
  run podman_run "$BATS_TEST_TMPDIR/cid" "$PG_REPO:2" /bin/sh -c 'echo hello-from-container'
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "patchgate: refused container"
  assert_output_contains "has never been scanned"
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine podman
  assert_log digest "$PG_CONFIG_2"
}

@test "podman: run --rm (volatile storage) and create + start are identified alike" {
  pg_db_scanned 12
  local cid
  # A stale scan: refused, so the identity must have been found to say so.
  run podman_run "$BATS_TEST_TMPDIR/cid-rm" --rm "$PG_REPO:1" /bin/true
  assert_failure
  assert_output_contains "scanned 12 days ago"
  cid=$(cat "$BATS_TEST_TMPDIR/cid-rm")
  wait_decision "$cid"
  assert_log_reason SCAN_STALE
  assert_log engine podman
  assert_log digest "$PG_CONFIG_1"

  cid=$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" "$PG_REPO:1" /bin/true) || pg_fail "podman create failed"
  run pg_podman start -a "$cid"
  assert_failure
  assert_output_contains "scanned 12 days ago"
  wait_decision "$cid"
  assert_log_reason SCAN_STALE
  assert_log engine podman
}

@test "podman: among many containers, the started one's record is found in podman's own containers.json" {
  pg_db_scanned 1
  local cid i ids=()
  # Containers of both images before and after it; none started.
  for i in 1 2 3; do
    ids+=("$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" --name "before-$i" "$PG_REPO:2" /bin/true)") ||
      pg_fail "podman create failed"
  done
  cid=$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" --name target "$PG_REPO:1" /bin/sh -c 'echo hello-from-container') ||
    pg_fail "podman create failed"
  for i in 1 2 3; do
    ids+=("$(pg_podman create "${PG_PODMAN_RUN_FLAGS[@]}" --name "after-$i" "$PG_REPO:2" /bin/true)") ||
      pg_fail "podman create failed"
  done
  # The store as podman wrote it: compact, the ID first in every record
  # (what identify/resolve_storage.c finds in place).
  local f=$PG_STORAGE_ROOT/vfs-containers/containers.json
  [ "$(head -c 8 "$f")" = '[{"id":"' ] || pg_fail "containers.json is not in the compact form: $(head -c 80 "$f")"
  [ "$(grep -o '{"id":"' "$f" | wc -l)" -ge 7 ] || pg_fail "containers.json holds fewer than 7 records"
  run pg_podman start -a "$cid"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision allow
  assert_log engine podman
  assert_log digest "$PG_CONFIG_1"
  assert_log image "$PG_REPO:1"
}

@test "podman: the image's name from storage selects the policy scope" {
  pg_policy '.scopes = [{"name": "test-repo", "match": {"repository": "localhost/patchgate-test"}, "mode": "audit"}]' \
    >"$PG_POLICY_FILE"
  pg_db_scanned 12
  local cid
  run podman_run "$BATS_TEST_TMPDIR/cid" "$PG_REPO:1" /bin/sh -c 'echo hello-from-container'
  assert_success
  assert_output_contains hello-from-container
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log decision audit
  assert_log scope test-repo
}

@test "podman: the prestart variant (older engines) gates too" {
  pg_hooks_dir "$PG_PODMAN_HOOKS_DIR" "$PG_INST$PG_PREFIX/share/patchgate/patchgate-prestart.json.example"
  jq -e '.stages == ["prestart"]' "$PG_PODMAN_HOOKS_DIR/patchgate.json" >/dev/null
  pg_db_scanned 1
  local cid
  run podman_run "$BATS_TEST_TMPDIR/cid" "$PG_REPO:1" /bin/sh -c 'echo hello-from-container'
  assert_success
  assert_output_contains hello-from-container
  run podman_run "$BATS_TEST_TMPDIR/cid2" "$PG_REPO:2" /bin/sh -c 'echo hello-from-container'
  assert_failure
  assert_output_contains "has never been scanned"
  cid=$(cat "$BATS_TEST_TMPDIR/cid2")
  wait_decision "$cid"
  assert_log decision deny
  assert_log engine podman
}

@test "podman: storage found through storage.conf ([storage] graphroot, runroot, driver)" {
  cat >"$BATS_TEST_TMPDIR/storage.conf" <<EOF
# as an admin would write it
[storage]
driver = "vfs"   # the test store
runroot = "$PG_STORAGE_RUNROOT"
graphroot = '$PG_STORAGE_ROOT'

[storage.options]
additionalimagestores = [
]
EOF
  pg_hook_config "$PG_DB" | jq --arg c "$BATS_TEST_TMPDIR/storage.conf" '. + {storage_conf: $c}' >"$PG_HOOK_CONFIG"
  pg_db_scanned 1
  local cid
  run podman_run "$BATS_TEST_TMPDIR/cid" "$PG_REPO:1" /bin/sh -c 'echo hello-from-container'
  assert_success
  cid=$(cat "$BATS_TEST_TMPDIR/cid")
  wait_decision "$cid"
  assert_log engine podman
  assert_log digest "$PG_CONFIG_1"
}
