#!/usr/bin/env bats
# The hook's least privilege and input hygiene, on the real binary: the
# order of its sandboxing steps (strace), planted symlinks and FIFOs in a
# bundle, and what a tenant can (not) steer through annotations and env.
# The seccomp allowlist's kills are proven by tests/unit/test_sandbox.c,
# from the same code.

load helpers

setup_file() {
  pg_require strace || return 1
  pg_setup_file || return 1
}

setup() {
  pg_setup
}

teardown() {
  pg_teardown
}

# hook STATE [CONFIG [ARGS...]] : the hook on STATE (ARGS: more of its arguments,
# such as --engine), stdout and stderr in $output.
hook() {
  local state=$1 cfg=${2:-$PG_HOOK_CONFIG}
  shift $(($# < 2 ? $# : 2))
  run timeout 30 env PATCHGATE_NOW="$PG_NOW" "$PG_HOOK_BIN" --config "$cfg" "$@" <"$state"
}

# state_for NAME BUNDLE : writes the state file, prints its path.
state_for() {
  pg_state_json "$1" "$2" >"$BATS_TEST_TMPDIR/state-$1.json"
  echo "$BATS_TEST_TMPDIR/state-$1.json"
}

# first_line PATTERN FILE : the number of the first line matching, or 0.
first_line() {
  local n
  n=$(grep -n -m1 -E -- "$1" "$2" | cut -d: -f1)
  echo "${n:-0}"
}

@test "sandbox: no_new_privs and capabilities cut before any input is read; every capability dropped and seccomp loaded before the decision" {
  pg_db_scanned 1
  local b state t
  b=$(make_bundle traced 1)
  state=$(state_for traced "$b")
  t=$BATS_TEST_TMPDIR/trace.txt
  # LeakSanitizer cannot work under ptrace: off for this one run.
  run strace -f -s 512 -o "$t" -E PATCHGATE_NOW="$PG_NOW" -E ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
    "$PG_HOOK_BIN" --config "$PG_HOOK_CONFIG" <"$state"
  [ "$status" -eq 0 ] || pg_fail "exit $status: $output"

  local nnp cap1 stdin cfg umoci idx cap0 sec decide
  nnp=$(first_line 'prctl\(PR_SET_NO_NEW_PRIVS, 1' "$t")
  cap1=$(first_line 'capset\(.*effective=1<<CAP_DAC_READ_SEARCH, permitted=1<<CAP_DAC_READ_SEARCH, inheritable=0\}\) = 0' "$t")
  stdin=$(first_line ' read\(0, ' "$t")
  cfg=$(first_line 'openat2?\(.*"config\.json"' "$t")
  umoci=$(first_line 'openat2?\(.*"umoci\.json"' "$t")
  idx=$(first_line "openat\\(.*policy\\.idx\", O_RDONLY" "$t")
  cap0=$(first_line 'capset\(.*effective=0, permitted=0, inheritable=0\}\) = 0' "$t")
  sec=$(first_line 'seccomp\(SECCOMP_SET_MODE_FILTER, [^)]*\{len=[0-9]+.*\) = 0' "$t")
  # The decision reads the mapped index (no syscall): its line, to syslog
  # or to stderr when syslog is down, is written after it.
  decide=$(first_line '(send(to|msg)?|write)\(.*decision=' "$t")
  echo "nnp=$nnp cap1=$cap1 stdin=$stdin config.json=$cfg umoci.json=$umoci index=$idx cap0=$cap0 seccomp=$sec log=$decide"
  # The annotations are the state's: config.json is read only by Docker's
  # resolver (for the rootfs), never for a bare bundle.
  [ "$cfg" -eq 0 ] || pg_fail "config.json was opened for a runc bundle"
  for v in nnp cap1 stdin umoci idx cap0 sec decide; do
    [ "${!v:-0}" -gt 0 ] || pg_fail "$v not found in the trace" || return 1
  done
  [ "$nnp" -lt "$stdin" ] && [ "$cap1" -lt "$stdin" ] || pg_fail "privileges cut after reading the state"
  [ "$stdin" -lt "$umoci" ] && [ "$umoci" -lt "$idx" ] || pg_fail "inputs out of order"
  [ "$idx" -lt "$cap0" ] && [ "$cap0" -lt "$sec" ] || pg_fail "capabilities dropped after the sandbox, or before the inputs"
  [ "$sec" -lt "$decide" ] || pg_fail "the decision was logged before the sandbox"
  # The hook never opens the database: the index is all it reads.
  ! grep -E 'openat2?\(.*policy\.db"' "$t" || pg_fail "the hook opened the database"
  # Nothing is opened by path for the bundle after the sandbox, and no
  # second capset grants anything back.
  ! tail -n +"$sec" "$t" | grep -E 'openat2\(|"config\.json"|"umoci\.json"' || pg_fail "bundle files opened inside the sandbox"
  [ "$(grep -c 'capset(' "$t")" -eq 2 ] || pg_fail "expected exactly two capset calls"
  grep -q '+++ exited with 0 +++' "$t" || pg_fail "the hook did not exit 0 under strace"
}

@test "safe open: umoci.json planted as a symlink (absolute, relative, loop) to a host file with a scanned digest is never read" {
  pg_db_scanned 1
  local host b state kind
  # The host file: the umoci.json of image 1, which the policy allows.
  host=$BATS_TEST_TMPDIR/host
  mkdir -p "$host"
  b=$(make_bundle donor 1)
  cp "$b/umoci.json" "$host/umoci.json"
  grep -q "${PG_MANIFEST_1#sha256:}" "$host/umoci.json"
  # Control: the same file in place identifies image 1 and is allowed.
  b=$(make_bundle control 2)
  cp "$host/umoci.json" "$b/umoci.json"
  hook "$(state_for control "$b")"
  [ "$status" -eq 0 ] || pg_fail "control: a real umoci.json of image 1 should be allowed: $output"

  for kind in absolute relative dotdot loop; do
    b=$(make_bundle "link-$kind" 2)
    rm -f "$b/umoci.json"
    case $kind in
    absolute) ln -s "$host/umoci.json" "$b/umoci.json" ;;
    relative) ln -s "../../host/umoci.json" "$b/umoci.json" ;;
    dotdot)
      mkdir -p "$b/sub"
      ln -s "../../../host" "$b/sub/up"
      ln -s "sub/up/umoci.json" "$b/umoci.json"
      ;;
    loop)
      ln -s umoci.json.2 "$b/umoci.json"
      ln -s umoci.json "$b/umoci.json.2"
      ;;
    esac
    hook "$(state_for "link-$kind" "$b")"
    [ "$status" -ne 0 ] || pg_fail "$kind: the hook allowed through a planted umoci.json: $output"
    [[ $output != *"${PG_MANIFEST_1#sha256:}"* ]] || pg_fail "$kind: identified from the host file: $output"
    assert_output_contains "umoci.json"
    assert_output_contains "refused"
  done
}

@test "safe open: a FIFO as umoci.json is refused at once; one as config.json is never opened" {
  pg_db_scanned 1
  local b f start
  for f in umoci.json config.json; do
    b=$(make_bundle "fifo-${f%%.*}" 1)
    pg_state_json fifo "$b" >"$BATS_TEST_TMPDIR/state-fifo.json"
    rm -f "$b/$f"
    mkfifo "$b/$f"
    start=$SECONDS
    hook "$BATS_TEST_TMPDIR/state-fifo.json"
    if [ "$f" = umoci.json ]; then
      [ "$status" -eq 2 ] || pg_fail "$f as a FIFO: exit $status: $output"
      assert_output_contains "not a regular file"
    else
      # A bare bundle's config.json is not read (the state's annotations
      # count): the image is identified from umoci.json and allowed.
      [ "$status" -eq 0 ] || pg_fail "$f as a FIFO: exit $status: $output"
    fi
    [ $((SECONDS - start)) -lt 5 ] || pg_fail "$f as a FIFO: the hook waited $((SECONDS - start)) s"
  done
}

@test "safe open: config.json as a symlink to a host file naming a scanned digest is never believed" {
  pg_db_scanned 1
  pg_hook_config "$PG_DB" '.annotation_keys = ["example.com/digest"]' >"$PG_HOOK_CONFIG"
  local b host=$BATS_TEST_TMPDIR/host-config.json
  b=$(make_bundle cfglink 1)
  rm -f "$b/umoci.json"
  jq '.annotations = {"example.com/digest": "'"$PG_MANIFEST_1"'"}' "$b/config.json" >"$host"
  rm -f "$b/config.json"
  ln -s "$host" "$b/config.json"
  jq -cn --arg b "$b" '{ociVersion: "1.0.2", id: "cfglink", status: "creating", bundle: $b}' >"$BATS_TEST_TMPDIR/s.json"
  hook "$BATS_TEST_TMPDIR/s.json"
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"
  [[ $output != *"${PG_MANIFEST_1#sha256:}"* ]] || pg_fail "identified from the host file: $output"
}

# A stale image (scanned 12 days ago, max_scan_age 7d) is refused; nothing
# a bundle author or a pod author writes may change that.
@test "tenant: annotations and the container's env select no config, database, mode, waiver or namespace" {
  local permissive=$BATS_TEST_TMPDIR/permissive
  mkdir -p "$permissive"
  # What a tenant would point at: a policy that allows everything, a config
  # that says on_error allow.
  pg_policy '.defaults.mode = "off" | .version = "evil"' >"$permissive/policy.json"
  make_trivy_report 1 "$(pg_days_ago 0)" >"$permissive/report.json"
  pg_make_db "$permissive/policy.db" "$permissive/policy.json" "$permissive/report.json"
  pg_hook_config "$permissive/policy.db" '.on_error = "allow"' >"$permissive/hook.json"

  pg_policy '.scopes = [{"name": "sys", "match": {"namespace": "kube-system"}, "mode": "audit"},
                        {"name": "dev", "match": {"namespace": "dev"}, "mode": "off"}]
             | .waivers = [{"id": "W-1", "match": {"namespace": "kube-system", "reason_code": "SCAN_STALE"},
                            "expires": "2999-01-01T00:00:00Z", "reason": "r", "owner": "o"}]' >"$PG_POLICY_FILE"
  pg_db_scanned 12

  local b state
  b=$(make_bundle tenant 1 \
    "patchgate.config=$permissive/hook.json" "patchgate.policy_db=$permissive/policy.db" \
    "patchgate.mode=off" "patchgate.on_error=allow" "patchgate.waiver=W-1" "patchgate.timeout=0" \
    "io.kubernetes.pod.namespace=kube-system" "io.kubernetes.cri.sandbox-namespace=kube-system")
  # The container's own environment is the container's, not the hook's.
  jq --arg c "$permissive/hook.json" --arg db "$permissive/policy.db" \
    '.process.env += ["PATCHGATE_CONFIG=\($c)", "PATCHGATE_NOW=2000-01-01T00:00:00Z", "PATCHGATE_DB=\($db)"]' \
    "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
  state=$(state_for tenant "$b")
  hook "$state"
  [ "$status" -eq 1 ] || pg_fail "a bare bundle's annotations changed the decision: exit $status: $output"
  assert_output_contains "scanned 12 days ago"

  # CRI-O's keys with no CRI-O record of this bundle (none here) count for
  # nothing, whatever the wiring (engine_crio.bats has a proven CRI-O).
  b=$(make_bundle crio-ns 1 "io.kubernetes.cri-o.ImageRef=${PG_CONFIG_1#sha256:}" \
    "io.kubernetes.pod.namespace=kube-system")
  hook "$(state_for crio-ns "$b")"
  [ "$status" -eq 1 ] || pg_fail "a bare bundle's CRI-O namespace counted: exit $status: $output"
  # Under the containerd wiring, containerd's own
  # io.kubernetes.cri.sandbox-namespace counts (off scope);
  # io.kubernetes.pod.namespace there (a passed-through pod annotation)
  # does not; and without that wiring neither does.
  b=$(make_bundle ctrd-podann 1 "io.kubernetes.cri.container-type=container" \
    "io.kubernetes.cri.image-name=$PG_REPO@$PG_MANIFEST_1" "io.kubernetes.pod.namespace=dev")
  hook "$(state_for ctrd-podann "$b")" "$PG_HOOK_CONFIG" --engine containerd
  [ "$status" -eq 1 ] || pg_fail "containerd with a pod-set io.kubernetes.pod.namespace: exit $status: $output"
  b=$(make_bundle ctrd-ns 1 "io.kubernetes.cri.container-type=container" \
    "io.kubernetes.cri.image-name=$PG_REPO@$PG_MANIFEST_1" "io.kubernetes.cri.sandbox-namespace=dev")
  hook "$(state_for ctrd-ns "$b")" "$PG_HOOK_CONFIG" --engine containerd
  [ "$status" -eq 0 ] || pg_fail "containerd sandbox-namespace: exit $status: $output"
  hook "$(state_for ctrd-ns "$b")"
  [ "$status" -eq 1 ] || pg_fail "containerd's keys counted without containerd's wiring: exit $status: $output"
}

@test "tenant: a CRI-O namespace in the state counts only for a proven CRI-O; a state over 1 MiB is refused" {
  pg_db_scanned 12
  local b state
  b=$(make_bundle override 1)
  # The state claims a CRI-O ImageRef and namespace, but no CRI-O wiring
  # proves it: neither counts.
  pg_state_json override "$b" |
    jq -c --arg ref "${PG_CONFIG_1#sha256:}" '.annotations = {"io.kubernetes.cri-o.ImageRef": $ref,
        "io.kubernetes.pod.namespace": "kube-system"}' >"$BATS_TEST_TMPDIR/s.json"
  jq '.annotations = {"org.example": "x"}' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
  pg_policy '.scopes = [{"name": "sys", "match": {"namespace": "kube-system"}, "mode": "off"}]' >"$PG_POLICY_FILE"
  "$PG_CLI" policy set --db "$PG_DB" "$PG_POLICY_FILE" >/dev/null
  hook "$BATS_TEST_TMPDIR/s.json"
  [ "$status" -eq 1 ] || pg_fail "exit $status: $output"

  # The runtime copies config.json's annotations into the state.
  python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
c["annotations"] = {"k%d" % i: "v" for i in range(100001)}
json.dump(c, open(sys.argv[1], "w"))' "$b/config.json"
  pg_state_json huge "$b" >"$BATS_TEST_TMPDIR/s.json"
  hook "$BATS_TEST_TMPDIR/s.json"
  [ "$status" -eq 2 ] || pg_fail "exit $status: $output"
  assert_output_contains "larger than the limit of 1048576 bytes"
}
