#!/usr/bin/env bats
# patchgate doctor: the wiring as `make install` lays it out, broken in the
# ways that leave containers unguarded, checked by doctor and, where it
# claims what an engine does, by that engine (podman, runc) itself.

load helpers
load engines

setup_file() {
  export PG_RUNTIME=runc
  pg_require podman skopeo runc umoci busybox tar || return 1
  pg_setup_file syslog || return 1
  pg_skipping && return 0
  pg_install_tree || return 1
  pg_storage_setup || return 1
  # The hook the wiring names: the installed one, below directories only
  # root writes (the build tree's may not be, wherever CI checks it out).
  PG_INST_HOOK=$PG_INST$PG_PREFIX/libexec/oci/hooks.d/patchgate-hook
  export PG_INST_HOOK
}

setup() {
  pg_setup
  pg_storage_hook_config "$PG_DB" >"$PG_HOOK_CONFIG"
  pg_db_scanned 1
  HOOKS=$BATS_TEST_TMPDIR/hooks.d
  pg_hooks_dir "$HOOKS"
  set_hook '.hook.path = $p' --arg p "$PG_INST_HOOK"
  # podman as the tests run it (engines.bash), through a containers.conf
  # that doctor reads and the canary runs podman with.
  CONF=$BATS_TEST_TMPDIR/containers.conf
  cat >"$CONF" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
hooks_dir = [
  "$HOOKS",   # the test's own
]
EOF
  export HOOKS CONF
}

teardown() {
  pg_podman rm -a -f >/dev/null 2>&1 || true
  pg_teardown
}

teardown_file() {
  pg_teardown_file
}

# set_hook JQ [JQ-ARGS...] : edit the hooks.d file.
set_hook() {
  local f=$1
  shift
  jq "$@" "$f" "$HOOKS/patchgate.json" >"$HOOKS/patchgate.json.new" && mv "$HOOKS/patchgate.json.new" "$HOOKS/patchgate.json"
}

# doctor ARGS... : patchgate doctor on podman, with the test's files.
doctor() {
  "$PG_CLI" doctor --engine podman --containers-conf "$CONF" --config "$PG_HOOK_CONFIG" \
    --podman-arg "--root=$PG_STORAGE_ROOT" --podman-arg "--runroot=$PG_STORAGE_RUNROOT" \
    --podman-arg --storage-driver=vfs "$@"
}

# check_line ENGINE CHECK STATUS DETAIL-SUBSTRING : one line of doctor's JSON
# ($output) with all four.
check_line() {
  jq -e --arg e "$1" --arg c "$2" --arg s "$3" --arg d "$4" \
    '[.checks[] | select(.engine == $e and .check == $c and .status == $s and (.detail | contains($d)))] | length > 0' \
    <<<"$output" >/dev/null || pg_fail "no $1 $2 $3 line with '$4' in: $output"
}

# podman_unscanned : podman (as configured by $CONF) runs the never-scanned
# image 2; prints its output.
podman_unscanned() {
  CONTAINERS_CONF=$CONF pg_podman run --rm --pull never --network none "$PG_REPO:2" /bin/sh -c 'echo hello-from-container' 2>&1
}

@test "doctor: the installed wiring passes, and podman refuses the unscanned image" {
  run doctor --json
  assert_success
  jq -e '.passed == true' <<<"$output" >/dev/null || pg_fail "not passed: $output"
  check_line podman hooks_dir info "$HOOKS (hooks_dir of $CONF)"
  check_line podman hooks.d ok "stages createRuntime, when always; --engine containers-storage"
  check_line podman "hook binary" ok "root's alone"
  check_line podman wired ok "runs patchgate-hook for every container"
  check_line patchgate "hook config" ok "loads"
  check_line patchgate database ok "policy $PG_POLICY_VERSION"
  run podman_unscanned
  assert_failure
  assert_output_contains "has never been scanned"
}

@test "doctor --hooks-dir: stands for every configured directory, for podman and CRI-O alike" {
  local empty=$BATS_TEST_TMPDIR/empty-hooks.d
  mkdir -p "$empty"
  run doctor --json --hooks-dir "$empty"
  [ "$status" -eq 1 ] || pg_fail "exit $status, expected 1: $output"
  check_line podman hooks_dir info "$empty (--hooks-dir)"
  check_line podman wired fail "no hooks.d file runs patchgate-hook in $empty"
  run doctor --json --hooks-dir "$empty" --hooks-dir "$HOOKS"
  assert_success
  check_line podman hooks_dir info "$empty, $HOOKS (--hooks-dir)"
  check_line podman wired ok "runs patchgate-hook for every container"
  printf '[crio.runtime]\nhooks_dir = ["%s"]\n' "$HOOKS" >"$BATS_TEST_TMPDIR/crio.conf"
  run "$PG_CLI" doctor --json --engine crio --crio-conf "$BATS_TEST_TMPDIR/crio.conf" --config "$PG_HOOK_CONFIG" \
    --hooks-dir "$empty"
  check_line crio hooks_dir info "$empty (--hooks-dir)"
  check_line crio wired fail "no hooks.d file runs patchgate-hook in $empty"
}

@test "doctor: a hooks.d file whose binary is missing FAILs; podman indeed starts the container unguarded" {
  set_hook '.hook.path = "/nonexistent/libexec/patchgate-hook"'
  run doctor --json
  [ "$status" -eq 1 ] || pg_fail "exit $status, expected 1: $output"
  check_line podman hooks.d fail "does not exist: podman skips this file without a word and starts containers unguarded"
  check_line podman wired fail "does not run patchgate-hook"
  # What doctor claims, podman does: the unscanned image runs.
  run podman_unscanned
  assert_success
  assert_output_contains hello-from-container
  # A file of patchgate's name that runs something else is not the wiring.
  set_hook '.hook.path = "/bin/true"'
  run doctor --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  check_line podman hooks.d fail "its hook.path /bin/true is not patchgate-hook"
  set_hook '.hook.path = "/nonexistent/libexec/patchgate-hook"'
  # The table says the same.
  run doctor
  [ "$status" -eq 1 ]
  assert_output_matches "podman +hooks.d +FAIL +$HOOKS/patchgate.json: hook.path /nonexistent/libexec/patchgate-hook does not exist"
}

@test "doctor: when {} is valid JSON but never matches: FAIL; podman runs the container unguarded" {
  set_hook '.when = {}'
  run doctor --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  check_line podman hooks.d fail "it never runs"
  run podman_unscanned
  assert_success
  assert_output_contains hello-from-container
}

@test "doctor: a stage that does not gate (poststart) FAILs; an unknown stage FAILs and podman refuses everything" {
  set_hook '.stages = ["poststart"]'
  run doctor --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  check_line podman hooks.d fail "stage poststart does not run before the container starts"

  set_hook '.stages = ["createruntime"]'
  run doctor --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  check_line podman hooks.d fail 'unknown stage "createruntime"'
  check_line podman hooks.d fail "podman cannot load its hooks directories"
  run podman_unscanned
  assert_failure
  assert_output_contains 'unknown stage "createruntime"'
}

@test "doctor: a group-writable hook binary FAILs, as does one in a world-writable directory" {
  local bin=$BATS_TEST_TMPDIR/bin
  mkdir -p "$bin"
  chmod 0755 "$bin"
  cp "$PG_INST_HOOK" "$bin/patchgate-hook"
  chmod 0775 "$bin/patchgate-hook"
  set_hook '.hook.path = $p' --arg p "$bin/patchgate-hook"
  run doctor --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  check_line podman "hook binary" fail "$bin/patchgate-hook is writable by group or others (mode 0775)"
  chmod 0755 "$bin/patchgate-hook"
  run doctor --json
  assert_success
  chmod 0777 "$bin"
  run doctor --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  check_line podman "hook binary" fail "$bin is writable by group or others (mode 0777)"
  chmod 0755 "$bin"
}

@test "doctor: a database or hook config others can write FAILs; a missing database FAILs" {
  chmod 0664 "$PG_DB"
  run doctor --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  check_line patchgate database fail "writable by group or others (mode 0664)"
  chmod 0644 "$PG_DB"
  chmod 0646 "$PG_HOOK_CONFIG"
  run doctor --json
  [ "$status" -eq 1 ]
  check_line patchgate "hook config" fail "writable by group or others (mode 0646)"
  chmod 0644 "$PG_HOOK_CONFIG"
  rm -f "$PG_DB"
  run doctor --json
  [ "$status" -eq 1 ]
  check_line patchgate database fail "every container is refused"
}

@test "doctor --canary: podman and bare runc (the shipped snippet) refuse an image no scan has seen" {
  local snippet=$BATS_TEST_TMPDIR/runc-hook-snippet.json
  # The installed snippet, its hook and config pointed at the test's.
  jq --arg p "$PG_INST_HOOK" --arg cfg "$PG_HOOK_CONFIG" "
      .hooks.createRuntime[0].path = \$p
    | .hooks.createRuntime[0].args |= ($PG_HOOK_ARGS_JQ)" \
    "$PG_INST$PG_PREFIX/share/patchgate/runc-hook-snippet.json" >"$snippet"
  jq -e '.hooks.createRuntime[0].args | index("--engine") as $i | .[$i + 1] == "runc"' "$snippet" >/dev/null
  run doctor --engine runc --runc-snippet "$snippet" --canary --json
  assert_success
  check_line podman canary ok "podman run: refused: patchgate: refused container"
  check_line podman canary ok "has never been scanned"
  check_line runc canary ok "refused: patchgate: refused container"
  # Nothing of the canary is left in podman's store.
  run pg_podman images --format '{{.Repository}}'
  refute_output_contains patchgate-canary
}

@test "doctor --canary is proof: an unwired podman, or a policy that lets unscanned images run, FAILs" {
  rm "$HOOKS/patchgate.json"
  run doctor --canary --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  check_line podman wired fail "no hooks.d file runs patchgate-hook"
  check_line podman canary fail "the canary (an image no scan has seen) RAN"

  pg_hooks_dir "$HOOKS"
  set_hook '.hook.path = $p' --arg p "$PG_INST_HOOK"
  pg_policy '.defaults.unscanned = "allow"' >"$PG_POLICY_FILE"
  pg_db_scanned 1
  run doctor --canary --json
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  check_line podman wired ok "runs patchgate-hook for every container"
  check_line podman canary fail "RAN"
}

@test "doctor: CRI-O's hooks_dir from crio.conf, Docker's daemon.json, containerd's base spec" {
  local d=$BATS_TEST_TMPDIR
  printf '[crio.runtime]\nhooks_dir = ["%s"]\n' "$HOOKS" >"$d/crio.conf"
  run "$PG_CLI" doctor --engine crio --crio-conf "$d/crio.conf" --config "$PG_HOOK_CONFIG" --json
  assert_success
  check_line crio hooks_dir info "hooks_dir of $d/crio.conf"
  check_line crio wired ok "CRI-O runs patchgate-hook"

  # Docker: the installed daemon.json, its runtime the installed wrapper
  # with the hook beside it (where it looks first).
  mkdir -p "$d/bin"
  cp "$PG_INST$PG_PREFIX/bin/patchgate-runtime" "$PG_INST_HOOK" "$d/bin/"
  jq --arg p "$d/bin/patchgate-runtime" '.runtimes.patchgate.path = $p' \
    "$PG_INST$PG_PREFIX/share/patchgate/docker-daemon.json" >"$d/daemon.json"
  run "$PG_CLI" doctor --engine docker --docker-daemon-json "$d/daemon.json" --config "$PG_HOOK_CONFIG" --json
  assert_success
  check_line docker default-runtime ok "runtime patchgate"
  check_line docker "hook binary" ok "root's alone"
  rm "$d/bin/patchgate-hook"
  run "$PG_CLI" doctor --engine docker --docker-daemon-json "$d/daemon.json" --config "$PG_HOOK_CONFIG" --json
  [ "$status" -eq 1 ]
  check_line docker "hook binary" fail "the wrapper refuses every container"
  jq 'del(."default-runtime")' "$d/daemon.json" >"$d/daemon2.json"
  run "$PG_CLI" doctor --engine docker --docker-daemon-json "$d/daemon2.json" --config "$PG_HOOK_CONFIG" --json
  [ "$status" -eq 1 ]
  check_line docker default-runtime fail "only \`docker run --runtime patchgate\` is gated"

  # containerd: the installed snippet and base spec.
  jq --arg p "$PG_INST_HOOK" --arg cfg "$PG_HOOK_CONFIG" "
      .hooks.createRuntime[0].path = \$p
    | .hooks.createRuntime[0].args |= ($PG_HOOK_ARGS_JQ)" \
    "$PG_INST$PG_PREFIX/share/patchgate/containerd-base-spec.json" >"$d/base-spec.json"
  sed "s|/etc/containerd/patchgate-base-spec.json|$d/base-spec.json|" \
    "$PG_INST$PG_PREFIX/share/patchgate/containerd-config.toml" >"$d/config.toml"
  run "$PG_CLI" doctor --engine containerd --containerd-config "$d/config.toml" --config "$PG_HOOK_CONFIG" --json
  assert_success
  check_line containerd "base spec" ok "runs patchgate-hook --engine containerd"
  check_line containerd wired ok "every CRI runtime"
  # The same spec wired with another engine's name is not containerd's wiring.
  jq '.hooks.createRuntime[0].args |= (index("--engine") as $i | .[:$i + 1] + ["docker"] + .[$i + 2:])' \
    "$d/base-spec.json" >"$d/base-spec2.json"
  sed -i "s|$d/base-spec.json|$d/base-spec2.json|" "$d/config.toml"
  run "$PG_CLI" doctor --engine containerd --containerd-config "$d/config.toml" --config "$PG_HOOK_CONFIG" --json
  [ "$status" -eq 1 ]
  check_line containerd "base spec" fail "not --engine containerd"
  # A config with no base spec at all.
  printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".cni]\n  bin_dir = "/usr/lib/cni"\n' >"$d/plain.toml"
  run "$PG_CLI" doctor --engine containerd --containerd-config "$d/plain.toml" --json
  [ "$status" -eq 1 ]
  check_line containerd "base spec" fail "runtime runc has no base_runtime_spec"
  # The CRI plugin disabled (Docker's own containerd): nothing to wire.
  printf 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n' >"$d/nocri.toml"
  run "$PG_CLI" doctor --engine containerd --containerd-config "$d/nocri.toml" --json
  assert_success
  check_line containerd wired info "the CRI plugin is disabled"
}

@test "doctor: usage errors exit 2; --help names every option" {
  run "$PG_CLI" doctor --engine lxc
  [ "$status" -eq 2 ]
  assert_output_contains "unknown engine \`lxc\`"
  run "$PG_CLI" doctor extra-argument
  [ "$status" -eq 2 ]
  run "$PG_CLI" doctor --help
  assert_success
  local o
  for o in --json --canary --engine --hooks-dir --containers-conf --crio-conf --containerd-config \
    --docker-daemon-json --config --runc-snippet --podman-arg --docker-host; do
    assert_output_contains -- "$o"
  done
  run "$PG_CLI" --help
  assert_output_contains "doctor"
}
