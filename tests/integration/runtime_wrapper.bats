#!/usr/bin/env bats
# patchgate-runtime, the runc stand-in for Docker (and containerd's
# BinaryName): `create`, `run` and `restore` get exactly one patchgate-hook
# entry in config.json (or are refused), and every other command reaches
# runc untouched.  The differential tests run the unit corpus
# (tests/unit/data/runtime_wrap/) under real runc and crun with recording
# hooks, and compare what the runtimes ran with what the corpus expects.
# crun wants a pure cgroup2 /sys/fs/cgroup (this file's mount namespace
# only); runc runs there as well.

load helpers
load engines

setup_file() {
  export PG_RUNTIME=runc
  pg_require runc crun python3 || return 1
  pg_setup_file syslog cgroup2 || return 1
  pg_skipping && return 0
  PG_WRAPPER=$PG_BUILD/patchgate-runtime
  [ -x "$PG_WRAPPER" ] || pg_fail "$PG_WRAPPER is missing: run make" || return 1
  PG_RUNC=$(command -v runc)
  PG_CRUN=$(command -v crun)
  PG_CORPUS=$PATCHGATE_SRC/tests/unit/data/runtime_wrap
  [ -d "$PG_CORPUS" ] || pg_fail "no corpus at $PG_CORPUS" || return 1
  export PG_WRAPPER PG_RUNC PG_CRUN PG_CORPUS
}

teardown_file() {
  pg_teardown_file
}

setup() {
  pg_setup
  # These bundles are bare runc bundles (umoci.json), not Docker's: the
  # wrapper's entry names the engine the hook config says (runtime_engine).
  pg_hook_config "$PG_DB" '.runtime_engine = "runc"' >"$PG_HOOK_CONFIG"
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
  [ "$output" = "[\"patchgate-hook\",\"--engine\",\"runc\",\"--config\",\"$PG_HOOK_CONFIG\"]" ] ||
    pg_fail "hook args: $output"
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
  assert_output_contains "the container is not created"
  run "$PG_RUNC" --root "$PG_RT_ROOT" state "$cid"
  assert_failure
}

@test "wrapper: runtime_path from the hook config; the wrapper refuses to exec itself" {
  pg_hook_config "$PG_DB" | jq --arg r "$PG_RUNC" '.runtime_path = $r | .runtime_engine = "runc"' >"$PG_HOOK_CONFIG"
  run env PATCHGATE_CONFIG="$PG_HOOK_CONFIG" "$PG_WRAPPER" --version
  assert_success
  assert_output_contains "runc version"
  run env PATCHGATE_RUNTIME="$PG_WRAPPER" "$PG_WRAPPER" --version
  assert_failure
  assert_output_contains "patchgate-runtime itself"
}

@test "wrapper: a patchgate entry with other arguments is replaced: the wrapper's config decides" {
  pg_db_scanned 1
  local b cid evil=$BATS_TEST_TMPDIR/evil-hook.json
  # A config that lets everything run: no database, on_error allow.
  pg_hook_config "$BATS_TEST_TMPDIR/none.db" '.on_error = "allow"' >"$evil"
  b=$(PG_HOOK_STAGE=none make_bundle evil-args 2)
  jq --arg p "$PG_HOOK_BIN" --arg c "$evil" \
    '.hooks.createRuntime = [{path: $p, args: ["patchgate-hook", "--config", $c], env: ["PATH=/bin"]}]' \
    "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
  cid=$(new_cid)
  run wrap_create --root "$PG_RT_ROOT" create --bundle "$b" "$cid"
  assert_failure
  assert_output_contains "has never been scanned"
  [ "$(jq -c '[.hooks.createRuntime[] | .args]' "$b/config.json")" = \
    "[[\"patchgate-hook\",\"--engine\",\"runc\",\"--config\",\"$PG_HOOK_CONFIG\"]]" ] ||
    pg_fail "createRuntime: $(jq -c .hooks.createRuntime "$b/config.json")"
  run "$PG_RUNC" --root "$PG_RT_ROOT" state "$cid"
  assert_failure
}

@test "wrapper: PATCHGATE_NOW in the runtime's environment does not reach the hook" {
  pg_db_scanned 1
  local b cid future out=$BATS_TEST_TMPDIR/create.out
  # A clock 30 days on would make the 1-day-old scan stale: the hook must
  # keep its own clock and allow.
  future=$(pg_rfc3339 $((PG_NOW_EPOCH + 30 * 86400)))
  b=$(plain_bundle clock 1)
  cid=$(new_cid)
  PATCHGATE_RUNTIME=$PG_RUNC PATCHGATE_CONFIG=$PG_HOOK_CONFIG PATCHGATE_NOW=$future \
    "$PG_WRAPPER" --root "$PG_RT_ROOT" create --bundle "$b" "$cid" </dev/null >"$out" 2>&1 ||
    pg_fail "create refused under PATCHGATE_NOW=$future: $(cat "$out")"
  wait_decision "$cid"
  assert_log decision allow
  jq -e --arg p "$PG_HOOK_BIN" '[.hooks.createRuntime[] | select(.path == $p)] | length == 1
      and (.[0].env | length > 0) and all(.[0].env[]; startswith("PATCHGATE_") | not)' "$b/config.json" >/dev/null ||
    pg_fail "the entry's env: $(jq -c '.hooks.createRuntime' "$b/config.json")"
}

@test "wrapper: restore is gated as create is (the config.json runc restores from carries the hook)" {
  # criu 3.17 cannot run on this kernel (criu check: vDSO), so no real
  # checkpoint is restored: runc is reached and fails on the missing image,
  # after loading the config.json the wrapper rewrote.
  local b cid ck=$BATS_TEST_TMPDIR/checkpoint
  mkdir -p "$ck"
  b=$(plain_bundle restore 1)
  cid=$(new_cid)
  run wrap --root "$PG_RT_ROOT" restore --image-path "$ck" --bundle "$b" "$cid"
  assert_failure
  assert_output_contains "descriptors.json"
  jq -e --arg p "$PG_HOOK_BIN" '[.hooks.createRuntime[] | select(.path == $p)]
      | length == 1 and .[0].args[1:3] == ["--engine", "runc"]' "$b/config.json" >/dev/null ||
    pg_fail "no patchgate entry after restore: $(jq -c .hooks "$b/config.json")"

  # A config.json the wrapper refuses is refused on restore too, before runc.
  printf '{"hoo\\u212As": {}}' >"$b/config.json"
  run wrap --root "$PG_RT_ROOT" restore --image-path "$ck" --bundle "$b" "$cid"
  assert_failure
  assert_output_contains "spelled another way"
  refute_output_contains "descriptors.json"
}

# --- the corpus under real runtimes ----------------------------------------

# A hook that appends "$0 ARGS" to calls.log beside it.  It runs in the
# runtime's namespaces and (createContainer, startContainer) in the
# container's, where the hook directory is bind-mounted at the same path.
recording_hook() {
  cat >"$1" <<'SH'
#!/bin/sh
while read -r _; do :; done
echo "$0 $*" >>"${0%/*}/calls.log"
SH
  chmod 0755 "$1"
}

# corpus_hooks DIR : the corpus's hook directory under real paths.
corpus_hooks() {
  mkdir -p "$1"
  recording_hook "$1/patchgate-hook"
  recording_hook "$1/other-hook"
  ln -sf patchgate-hook "$1/alias"
  ln -f "$1/patchgate-hook" "$1/pg-hardlink"
}

# corpus_config CASE HOOKDIR BASE ENTRY : the case's config.json (or
# config.gen.json) with its top-level members laid over BASE (a runnable
# config.json without hooks, less every key the case sets itself), the
# placeholders filled.  A case that is no object stays as it is.
corpus_config() {
  local dir=$PG_CORPUS/$1
  python3 - "$dir" "$2" "$3" "$4" <<'PY'
import json, os, sys
d, hookdir, base_path, entry = sys.argv[1:5]
if os.path.exists(d + "/config.json"):
    case = open(d + "/config.json", "rb").read()
else:
    g = json.load(open(d + "/config.gen.json"))
    case = (g["head"] + g["repeat"] * g["times"] + g["tail"]).encode()
case = case.replace(b"@HOOKDIR@", hookdir.encode()).replace(b'"@ENTRY@"', entry.encode())
base = json.load(open(base_path))
try:
    keys = [k for k, _ in json.loads(case, object_pairs_hook=lambda p: p)] if case.lstrip().startswith(b"{") else []
except ValueError:
    keys = []
for k in keys:
    base.pop(k, None)
base = json.dumps(base, separators=(",", ":")).encode()
s = case.lstrip()
if not s.startswith(b"{"):
    out = case
elif s[1:].strip() == b"}":
    out = base
else:
    out = base[:-1] + b"," + s[1:]
sys.stdout.buffer.write(out)
PY
}

# corpus_expected_calls CASE HOOKDIR : the other-hook lines the runtime
# should record for an accepted case, from its expected.json.
corpus_expected_calls() {
  sed "s|@HOOKDIR@|$2|g; s|\"@ENTRY@\"|{\"path\": \"entry\"}|g" "$PG_CORPUS/$1/expected.json" |
    jq -r '[.prestart, .createRuntime, .createContainer, .startContainer, .poststart, .poststop]
      | map(. // []) | add | .[] | select(.path | endswith("/other-hook"))
      | ([.path] + (.args // [])[1:]) | join(" ")' | sort
}

# differential RUNTIME : every corpus case through the wrapper and RUNTIME.
differential() {
  local rt=$1 rtroot hookdir=$BATS_TEST_TMPDIR/hooks cases=("$PG_CORPUS"/*)
  local b base entry c cid log failures=() want got pg ours out rc created
  rtroot=$BATS_FILE_TMPDIR/diff-${rt##*/}-root
  corpus_hooks "$hookdir"
  log=$hookdir/calls.log
  b=$(PG_RUNTIME=$(basename "$rt") PG_HOOK_STAGE=none make_bundle diff 1) || return 1
  base=$BATS_TEST_TMPDIR/base.json
  jq --arg h "$hookdir" '.process.args = ["/bin/sh", "-c", "true"] | del(.hooks)
    | .mounts += [{destination: $h, type: "bind", source: $h, options: ["rbind", "rw"]}]' "$b/config.json" >"$base"
  entry=$(jq -cn --arg p "$hookdir/patchgate-hook" --arg c "$PG_HOOK_CONFIG" '{path: $p,
    args: ["patchgate-hook", "--engine", "docker", "--config", $c],
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], timeout: 10}')
  ours="$hookdir/patchgate-hook --engine runc --config $PG_HOOK_CONFIG"
  for c in "${cases[@]##*/}"; do
    corpus_config "$c" "$hookdir" "$base" "$entry" >"$b/config.json" || return 1
    rm -f "$log"
    cid=diff-$c-$$
    rc=0
    out=$(PATCHGATE_RUNTIME=$rt PATCHGATE_CONFIG=$PG_HOOK_CONFIG PATCHGATE_HOOK=$hookdir/patchgate-hook \
      timeout 60 "$PG_WRAPPER" --root "$rtroot" run --bundle "$b" "$cid" </dev/null 2>&1) || rc=$?
    created=false
    "$rt" --root "$rtroot" state "$cid" >/dev/null 2>&1 && created=true
    "$rt" --root "$rtroot" delete -f "$cid" >/dev/null 2>&1
    if [ -f "$PG_CORPUS/$c/error" ]; then
      # Refused: by the wrapper, with the case's reason; no container, no hook.
      if [ $rc = 0 ] || $created; then
        failures+=("$c: a container was made (exit $rc), expected a refusal")
      elif [[ $out != *"patchgate-runtime: "*"$(head -1 "$PG_CORPUS/$c/error")"* ]]; then
        failures+=("$c: not refused by the wrapper as expected: $out")
      elif [ -s "$log" ]; then
        failures+=("$c: refused, yet hooks ran: $(cat "$log")")
      fi
      continue
    fi
    if [ $rc != 0 ]; then
      failures+=("$c: $rt run failed ($rc): $out")
      continue
    fi
    # patchgate's hook ran exactly once, as the wrapper's entry; the other
    # hooks ran as the corpus expects.
    pg=$(grep -c -E "^$hookdir/(patchgate-hook|alias|pg-hardlink) |^[^ ]*/patchgate-hook " "$log" || true)
    [ "$pg" = 1 ] || failures+=("$c: patchgate's hook ran $pg times: $(cat "$log")")
    grep -qxF "$ours" "$log" || failures+=("$c: the wrapper's entry did not run: $(cat "$log")")
    want=$(corpus_expected_calls "$c" "$hookdir")
    got=$(grep -F "$hookdir/other-hook" "$log" | sort || true)
    [ "$want" = "$got" ] || failures+=("$c: other hooks ran as
$got
expected
$want")
  done
  [ ${#failures[@]} = 0 ] && return 0
  printf '%s\n' "${failures[@]}" >&2
  pg_fail "${#failures[@]} of ${#cases[@]} corpus cases differ under $rt"
}

@test "wrapper: the corpus under runc: patchgate's hook runs exactly once, refused configs create nothing" {
  differential "$PG_RUNC"
}

@test "wrapper: the corpus under crun: patchgate's hook runs exactly once, refused configs create nothing" {
  differential "$PG_CRUN"
}
