#!/usr/bin/env bats
# patchgate-runtime, the runc stand-in for Docker (and containerd's
# BinaryName): `create` and `run` get patchgate-hook in config.json, and
# every other command reaches runc untouched.

load helpers
load engines

setup_file() {
  export PG_RUNTIME=runc
  pg_require runc || return 1
  pg_setup_file syslog || return 1
  pg_skipping && return 0
  PG_WRAPPER=$PG_BUILD/patchgate-runtime
  [ -x "$PG_WRAPPER" ] || pg_fail "$PG_WRAPPER is missing: run make" || return 1
  PG_RUNC=$(command -v runc)
  export PG_WRAPPER PG_RUNC
}

teardown_file() {
  pg_teardown_file
}

setup() {
  pg_setup
}

teardown() {
  pg_teardown
}

# wrap ARGS... : the wrapper, pointed at plain runc and the test's config.
wrap() {
  PATCHGATE_RUNTIME=$PG_RUNC PATCHGATE_CONFIG=$PG_HOOK_CONFIG PATCHGATE_NOW=$PG_NOW "$PG_WRAPPER" "$@"
}

# wrap_create ARGS... : the wrapper's create, its output in a file and then
# printed: the created container's init holds runc's stdio open until it
# starts, so a pipe (bats' run) would never see the end.
wrap_create() {
  local out=$BATS_TEST_TMPDIR/create.out rc
  wrap "$@" </dev/null >"$out" 2>&1
  rc=$?
  cat "$out"
  return $rc
}

# Without runc's log timestamps, which tick between two runs.
untimed() { sed -E 's/time="[^"]*" //'; }

# plain_bundle NAME TAG : a bundle with no patchgate hook: a long-running
# process, an unrelated createRuntime hook, and an RLIMIT_CORE of
# RLIM_INFINITY (more than jansson's integers hold).
plain_bundle() {
  local b
  b=$(PG_HOOK_STAGE=none make_bundle "$1" "$2") || return 1
  jq '.process.args = ["/bin/sleep", "30"]
    | .hooks = {createRuntime: [{path: "/bin/true", args: ["true"]}]}
    | .process.rlimits = [{type: "RLIMIT_CORE", hard: 0, soft: 0}]' "$b/config.json" |
    sed 's/"hard": 0/"hard": 18446744073709551615/' >"$b/config.json.new" &&
    mv "$b/config.json.new" "$b/config.json" || return 1
  echo "$b"
}

@test "wrapper: --version and --help pass straight through" {
  local want got
  for args in "--version" "--help" "--root $PG_RT_ROOT --help"; do
    # shellcheck disable=SC2086
    want=$("$PG_RUNC" $args 2>&1; echo "rc=$?")
    # shellcheck disable=SC2086
    got=$(wrap $args 2>&1; echo "rc=$?")
    [ "$want" = "$got" ] || pg_fail "runc $args differs through the wrapper:
--- runc
$want
--- wrapper
$got"
  done
}

@test "wrapper: state, kill and delete of a missing container: same output and exit code as runc" {
  local want got cmd
  for cmd in "state nope" "kill nope KILL" "delete nope" "delete -f nope" "list"; do
    # shellcheck disable=SC2086
    want=$("$PG_RUNC" --root "$PG_RT_ROOT" $cmd 2>&1 | untimed; echo "rc=${PIPESTATUS[0]}")
    # shellcheck disable=SC2086
    got=$(wrap --root "$PG_RT_ROOT" $cmd 2>&1 | untimed; echo "rc=${PIPESTATUS[0]}")
    [ "$want" = "$got" ] || pg_fail "runc $cmd differs through the wrapper:
--- runc
$want
--- wrapper
$got"
  done
}

@test "wrapper: create adds the hook once, keeps every other field; state, kill, delete pass through" {
  pg_db_scanned 1
  local b cid orig
  b=$(plain_bundle life 1)
  orig=$BATS_TEST_TMPDIR/orig.json
  cp "$b/config.json" "$orig"
  cid=$(new_cid)

  run wrap_create --root "$PG_RT_ROOT" --log "$BATS_TEST_TMPDIR/runc.log" --log-format json create --bundle "$b" "$cid"
  assert_success
  wait_decision "$cid"
  assert_log decision allow

  # Valid JSON, the hook appended after the existing one, nothing else changed.
  jq -e . "$b/config.json" >/dev/null || pg_fail "config.json is no longer valid JSON"
  run jq -c '[.hooks.createRuntime[] | .path]' "$b/config.json"
  [ "$output" = "[\"/bin/true\",\"$PG_HOOK_BIN\"]" ] || pg_fail "createRuntime hooks: $output"
  run jq -c '.hooks.createRuntime[1].args' "$b/config.json"
  [ "$output" = "[\"patchgate-hook\",\"--config\",\"$PG_HOOK_CONFIG\"]" ] || pg_fail "hook args: $output"
  diff <(jq -S 'del(.hooks.createRuntime[1])' "$b/config.json") <(jq -S . "$orig") ||
    pg_fail "config.json changed beyond the hook"
  grep -q '"hard": 18446744073709551615' "$b/config.json" || pg_fail "RLIM_INFINITY was not kept byte for byte"
  [ "$(stat -c %a "$b/config.json")" = "$(stat -c %a "$orig")" ] || pg_fail "config.json's mode changed"
  ! ls -A "$b" | grep -q '^\.config\.json' || pg_fail "a temp file was left in the bundle: $(ls -A "$b")"

  # state through the wrapper is runc's state.
  diff <(wrap --root "$PG_RT_ROOT" state "$cid" | jq -S .) <("$PG_RUNC" --root "$PG_RT_ROOT" state "$cid" | jq -S .) ||
    pg_fail "state differs through the wrapper"
  [ "$("$PG_RUNC" --root "$PG_RT_ROOT" state "$cid" | jq -r .status)" = created ] || pg_fail "not created"

  run wrap --root "$PG_RT_ROOT" kill "$cid" KILL
  assert_success
  run wrap --root "$PG_RT_ROOT" delete -f "$cid"
  assert_success
  run "$PG_RUNC" --root "$PG_RT_ROOT" state "$cid"
  assert_failure

  # A retry on the same bundle (the engine re-creating) adds nothing.
  cp "$b/config.json" "$BATS_TEST_TMPDIR/after-first.json"
  cid=$(new_cid)
  run wrap_create --root "$PG_RT_ROOT" create --bundle="$b" "$cid"
  assert_success
  cmp "$b/config.json" "$BATS_TEST_TMPDIR/after-first.json" || pg_fail "the retry changed config.json"
  [ "$(jq '[.hooks.createRuntime[] | select(.path == "'"$PG_HOOK_BIN"'")] | length' "$b/config.json")" = 1 ] ||
    pg_fail "the hook is there more than once"
}

@test "wrapper: the bundle is the working directory when --bundle is absent (-b too)" {
  pg_db_scanned 1
  local b cid
  b=$(plain_bundle cwd 1)
  cid=$(new_cid)
  run bash -c "cd '$b' && PATCHGATE_RUNTIME='$PG_RUNC' PATCHGATE_CONFIG='$PG_HOOK_CONFIG' PATCHGATE_NOW='$PG_NOW' '$PG_WRAPPER' --root '$PG_RT_ROOT' create '$cid' </dev/null >'$BATS_TEST_TMPDIR/create.out' 2>&1 || { cat '$BATS_TEST_TMPDIR/create.out'; exit 1; }"
  assert_success
  jq -e --arg p "$PG_HOOK_BIN" '[.hooks.createRuntime[] | select(.path == $p)] | length == 1' "$b/config.json" >/dev/null ||
    pg_fail "no hook in the cwd bundle"
  wait_decision "$cid"
  assert_log decision allow

  b=$(plain_bundle short 1)
  cid=$(new_cid)
  run wrap_create --root "$PG_RT_ROOT" create -b "$b" "$cid"
  assert_success
  jq -e --arg p "$PG_HOOK_BIN" '[.hooks.createRuntime[] | select(.path == $p)] | length == 1' "$b/config.json" >/dev/null ||
    pg_fail "no hook with -b"
}

@test "wrapper: an unscanned image is refused at create with patchgate's reason" {
  pg_db_scanned 1
  local b cid
  b=$(plain_bundle refused 2)
  cid=$(new_cid)
  run wrap_create --root "$PG_RT_ROOT" create --bundle "$b" "$cid"
  assert_failure
  assert_output_contains "has never been scanned"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
}

@test "wrapper: run (create + start) gets the hook too; a broken config.json is refused" {
  pg_db_scanned 1
  local b cid
  b=$(PG_HOOK_STAGE=none make_bundle run 1)
  cid=$(new_cid)
  run wrap --root "$PG_RT_ROOT" run --bundle "$b" "$cid"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision allow

  b=$(PG_HOOK_STAGE=none make_bundle broken 1)
  echo '{"ociVersion": "1.0.2", "hooks": [' >"$b/config.json"
  cid=$(new_cid)
  run wrap_create --root "$PG_RT_ROOT" create --bundle "$b" "$cid"
  assert_failure
  assert_output_contains "patchgate-runtime: cannot add patchgate-hook"
  run "$PG_RUNC" --root "$PG_RT_ROOT" state "$cid"
  assert_failure
}

@test "wrapper: runtime_path from the hook config; the wrapper refuses to exec itself" {
  pg_hook_config "$PG_DB" | jq --arg r "$PG_RUNC" '.runtime_path = $r' >"$PG_HOOK_CONFIG"
  run env PATCHGATE_CONFIG="$PG_HOOK_CONFIG" "$PG_WRAPPER" --version
  assert_success
  assert_output_contains "runc version"
  run env PATCHGATE_RUNTIME="$PG_WRAPPER" "$PG_WRAPPER" --version
  assert_failure
  assert_output_contains "patchgate-runtime itself"
}
