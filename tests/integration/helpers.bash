# shellcheck shell=bash
# Shared set-up of the patchgate integration tests; every .bats file loads it.
#
# tests/run-all.sh runs each .bats file as root in its own private mount
# namespace, from the repository root, with PATCHGATE_BUILD (directory of
# patchgate-hook and patchgate) and PATCHGATE_SRC (repository root) set.
# The image, scanner reports, bundles and syslog plumbing live in
# tests/lib.sh (shared with tests/demo.sh); this file adds what is bats
# specific: requirements (a missing tool fails under CI=true, skips
# otherwise), per-file/per-test set-up, runtimes, and the test bodies that
# hook_runc.bats and hook_crun.bats share.

# shellcheck source=../lib.sh
source "$BATS_TEST_DIRNAME/../lib.sh"

pg_fail() {
  echo "FAIL: $*" >&2
  return 1
}

# pg_require CMD... : every command must exist.  Under CI=true a missing one
# fails (never skip in CI).  Elsewhere the test is skipped; in setup_file,
# where bats 1.8 cannot skip, PG_SKIP_REASON is exported instead, set-up
# stops there, and pg_setup skips each test with it.
pg_require() {
  local missing
  missing=$(pg_missing_cmds "$@")
  [ -z "$missing" ] && return 0
  if [ "${CI:-}" = true ]; then
    pg_fail "required tools missing: $missing (CI=true: refusing to skip)"
    return 1
  fi
  if [ -n "${BATS_TEST_NAME:-}" ]; then
    skip "required tools missing: $missing"
  fi
  export PG_SKIP_REASON="${PG_SKIP_REASON:+$PG_SKIP_REASON; }required tools missing: $missing"
  return 0
}

pg_skipping() { [ -n "${PG_SKIP_REASON:-}" ]; }

# The programs under test must always exist: `make check` builds them.
pg_require_binaries() {
  pg_set_binaries
  [ -x "$PG_HOOK_BIN" ] || pg_fail "$PG_HOOK_BIN is missing: run make (PATCHGATE_BUILD=$PG_BUILD)" || return 1
  [ -x "$PG_CLI" ] || pg_fail "$PG_CLI is missing: run make (PATCHGATE_BUILD=$PG_BUILD)" || return 1
}

# pg_setup_file [syslog] [cgroup2] : per-file set-up; builds the test images
# (tag 1: busybox, tag 2: busybox plus a file, never scanned) once.
pg_setup_file() {
  local want_syslog=false want_cgroup2=false a
  for a in "$@"; do
    case $a in
    syslog) want_syslog=true ;;
    cgroup2) want_cgroup2=true ;;
    esac
  done
  pg_skipping && return 0
  [ "$(id -u)" = 0 ] || pg_fail "the integration tests run as root" || return 1
  pg_require umoci jq busybox sqlite3 || return 1
  pg_skipping && return 0
  pg_require_binaries || return 1
  if $want_syslog || $want_cgroup2; then
    pg_in_private_mount_ns ||
      pg_fail "run this file in a private mount namespace: unshare -m --propagation private bats ... (tests/run-all.sh does)" ||
      return 1
  fi
  PG_WORK=$BATS_FILE_TMPDIR
  export PG_WORK
  # A sanitized build (make check SANITIZE=1) writes its reports here, and
  # pg_teardown fails the test that produced one: an ASan report in a hook
  # that refused anyway would otherwise look like an ordinary exit 1.
  PG_SANITIZER_DIR=$PG_WORK/sanitizer
  mkdir -p "$PG_SANITIZER_DIR"
  export PG_SANITIZER_DIR
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$PG_SANITIZER_DIR/asan:exitcode=86"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$PG_SANITIZER_DIR/ubsan:print_stacktrace=1"
  pg_init_clock
  pg_build_image "$PG_WORK" || pg_fail "could not build the test image" || return 1
  pg_make_variant_image 2 "never scanned" || pg_fail "could not build the second image" || return 1
  if $want_cgroup2; then
    # crun wants a pure cgroup2 hierarchy at /sys/fs/cgroup; this VM mounts
    # a hybrid v1 layout there.  Only this mount namespace sees the change.
    if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
      mount -t cgroup2 none /sys/fs/cgroup || pg_fail "mount -t cgroup2 on /sys/fs/cgroup failed" || return 1
    fi
  fi
  if $want_syslog; then
    pg_require rsyslogd logger || return 1
    pg_skipping && return 0
    pg_syslog_start "$PG_WORK/syslog" || pg_fail "could not start a private rsyslogd" || return 1
  fi
}

pg_teardown_file() {
  pg_syslog_stop
}

# --- per test -------------------------------------------------------------

# pg_setup : per-test paths; a default policy file and hook config.
pg_setup() {
  if pg_skipping; then
    skip "$PG_SKIP_REASON"
  fi
  PG_DB=$BATS_TEST_TMPDIR/policy.db
  PG_POLICY_FILE=$BATS_TEST_TMPDIR/policy.json
  PG_HOOK_CONFIG=$BATS_TEST_TMPDIR/hook.json
  PG_BUNDLE_DIR=$BATS_TEST_TMPDIR/bundles
  PG_HOOK_STAGE=createRuntime
  PG_RT_ROOT=$BATS_FILE_TMPDIR/${PG_RUNTIME:-runc}-root
  export PG_DB PG_POLICY_FILE PG_HOOK_CONFIG PG_BUNDLE_DIR PG_HOOK_STAGE PG_RT_ROOT
  pg_policy >"$PG_POLICY_FILE"
  pg_hook_config "$PG_DB" >"$PG_HOOK_CONFIG"
}

# pg_teardown : force-delete every container this test made; fail the test
# if a sanitizer reported anything during it.
pg_teardown() {
  local id f rc=0
  if [ -f "$BATS_TEST_TMPDIR/cids" ]; then
    while read -r id; do
      [ -n "$id" ] && "$PG_RUNTIME" --root "$PG_RT_ROOT" delete -f "$id" >/dev/null 2>&1
    done <"$BATS_TEST_TMPDIR/cids"
  fi
  for f in "${PG_SANITIZER_DIR:-/nonexistent}"/*; do
    [ -e "$f" ] || continue
    echo "sanitizer report $f:" >&2
    cat "$f" >&2
    mkdir -p "$PG_SANITIZER_DIR.seen"
    mv "$f" "$PG_SANITIZER_DIR.seen/"
    rc=1
  done
  return $rc
}

# new_cid : a container id unique in this file's run, remembered for teardown.
new_cid() {
  local n=0
  [ -f "$BATS_TEST_TMPDIR/cids" ] && n=$(wc -l <"$BATS_TEST_TMPDIR/cids")
  local id="pg-${PG_RUNTIME:-x}-${BATS_TEST_NUMBER}-$n-$$"
  echo "$id" >>"$BATS_TEST_TMPDIR/cids"
  echo "$id"
}

# rt_run ID BUNDLE : `<runtime> run` the bundle, stdout and stderr together,
# then (crun) the hook's stderr, which crun writes to a file.
rt_run() {
  local id=$1 bundle=$2 rc
  timeout 120 "$PG_RUNTIME" --root "$PG_RT_ROOT" run --bundle "$bundle" "$id" </dev/null 2>&1
  rc=$?
  if [ -s "$bundle/hook-stderr.log" ]; then
    cat "$bundle/hook-stderr.log"
  fi
  return $rc
}

# A database with a scan of image 1, DAYS (default 1) days before PG_NOW,
# and the policy file.
pg_db_scanned() {
  local days=${1:-1} tag=${2:-1}
  make_trivy_report "$tag" "$(pg_days_ago "$days")" >"$BATS_TEST_TMPDIR/report-$tag-$days.json" || return 1
  pg_make_db "$PG_DB" "$PG_POLICY_FILE" "$BATS_TEST_TMPDIR/report-$tag-$days.json"
}

# --- assertions -----------------------------------------------------------

assert_success() {
  [ "$status" -eq 0 ] && return 0
  pg_fail "expected success, got exit $status; output:
$output"
}

assert_failure() {
  [ "$status" -ne 0 ] && return 0
  pg_fail "expected failure, got exit 0; output:
$output"
}

assert_output_contains() {
  [[ $output == *"$1"* ]] && return 0
  pg_fail "output does not contain '$1'; output:
$output"
}

assert_output_matches() {
  [[ $output =~ $1 ]] && return 0
  pg_fail "output does not match /$1/; output:
$output"
}

refute_output_contains() {
  [[ $output != *"$1"* ]] && return 0
  pg_fail "output contains '$1' but should not; output:
$output"
}

# assert_log KEY VALUE-REGEX : the logfmt field KEY of $syslog_line matches
# the whole of the extended regex.
assert_log() {
  local v
  v=$(logfmt_field "$syslog_line" "$1") || pg_fail "no field $1 in syslog line: $syslog_line" || return 1
  [[ $v =~ ^($2)$ ]] && return 0
  pg_fail "syslog field $1='$v', expected /$2/; line: $syslog_line"
}

# assert_log_reason CODE : CODE is one of the comma-separated reasons.
assert_log_reason() {
  local v
  v=$(logfmt_field "$syslog_line" reasons) || pg_fail "no reasons in syslog line: $syslog_line" || return 1
  [[ ,$v, == *",$1,"* ]] && return 0
  pg_fail "reasons='$v' lacks $1; line: $syslog_line"
}

# wait_decision CID : the hook's syslog line for container CID.
wait_decision() {
  wait_syslog "patchgate-hook(\[[0-9]+\])?: .*container=\"?$1\"?( |\$)" >/dev/null
}

# Which engine= the hook reports for a bare runtime.  DESIGN.md lists runc;
# for crun the hook may name either.
engine_re() {
  case ${PG_RUNTIME:-runc} in
  crun) echo 'crun|runc' ;;
  *) echo runc ;;
  esac
}

# digest= must be image N's manifest or config digest.
digest_re() {
  local m c
  m=PG_MANIFEST_$1
  c=PG_CONFIG_$1
  echo "${!m}|${!c}"
}

# Exit code 2 as each runtime reports a failed hook.
exit2_re() {
  echo '(exit status 2|exit code: 2)'
}

# --- test bodies shared by hook_runc.bats and hook_crun.bats ---------------

case_scanned_fresh_runs() {
  pg_db_scanned 1
  local b cid
  b=$(make_bundle fresh 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  [[ $syslog_line == daemon.* ]] || pg_fail "facility is not daemon: $syslog_line"
  assert_log decision allow
  assert_log container "$cid"
  assert_log digest "$(digest_re 1)"
  assert_log engine "$(engine_re)"
  assert_log policy "$PG_POLICY_VERSION"
  assert_log mode enforce
  logfmt_field "$syslog_line" image >/dev/null || pg_fail "no image= in: $syslog_line"
}

case_unscanned_refused() {
  pg_db_scanned 1
  local b cid
  b=$(make_bundle unscanned 2)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "patchgate: refused container $cid"
  assert_output_contains "has never been scanned"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log digest "$(digest_re 2)"
  assert_log engine "$(engine_re)"
  assert_log mode enforce
}

case_stale_refused() {
  pg_db_scanned 12
  local b cid
  b=$(make_bundle stale 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "patchgate: refused container $cid"
  assert_output_matches "scanned 12 days ago"
  assert_output_matches "allows 7 days"
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason SCAN_STALE
  assert_log policy "$PG_POLICY_VERSION"
}

case_audit_scope_runs() {
  pg_policy '.scopes = [{"name": "audit", "match": {"repository": "localhost/patchgate-*"}, "mode": "audit"}]' \
    >"$PG_POLICY_FILE"
  pg_db_scanned 12
  local b cid
  # The repository is the one imported scans recorded for the digest (a
  # bare bundle has no namespace: hardening.bats, trust_identity.bats).
  b=$(make_bundle audit 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision audit
  assert_log_reason SCAN_STALE
  assert_log mode audit
  assert_log scope audit

  # The same stale image under a scope for another repository is refused.
  pg_policy '.scopes = [{"name": "audit", "match": {"repository": "registry.example.com/*"}, "mode": "audit"}]' \
    >"$PG_POLICY_FILE"
  pg_db_scanned 12
  b=$(make_bundle enforced 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason SCAN_STALE
}

case_missing_db_refused() {
  local db=$BATS_TEST_TMPDIR/does-not-exist/policy.db
  pg_hook_config "$db" >"$PG_HOOK_CONFIG"
  local b cid
  b=$(make_bundle nodb 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_matches "$(exit2_re)"
  assert_output_contains "patchgate: "
  [ ! -e "$db" ] || pg_fail "the hook created the missing database $db"
}

case_missing_db_on_error_allow_runs() {
  local db=$BATS_TEST_TMPDIR/does-not-exist/policy.db
  pg_hook_config "$db" '.on_error = "allow"' >"$PG_HOOK_CONFIG"
  local b cid
  b=$(make_bundle nodb-allow 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
}

case_prestart_stage() {
  PG_HOOK_STAGE=prestart
  pg_db_scanned 1
  local b cid
  b=$(make_bundle prestart-ok 1)
  jq -e '.hooks.prestart | length == 1' "$b/config.json" >/dev/null
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision allow

  b=$(make_bundle prestart-unscanned 2)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "has never been scanned"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
}

# CRI-O's keys in a bare bundle: whoever made the bundle wrote them, and
# they name nothing (trust_identity.bats has the attacks in full).
case_crio_keys_not_believed() {
  pg_db_scanned 1
  local b cid
  # A scanned image with CRI-O's keys for itself, no umoci.json: unidentified.
  b=$(make_bundle crio 1 "io.kubernetes.cri-o.ImageRef=${PG_CONFIG_1#sha256:}" \
    "io.kubernetes.cri-o.ImageName=$PG_REPO:1" "io.kubernetes.pod.namespace=kube-system")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
  assert_log engine "$(engine_re)"
  [ -z "$(logfmt_field "$syslog_line" namespace)" ] || pg_fail "a namespace was believed: $syslog_line"

  # The unscanned image claiming the scanned one's ID: umoci.json names it.
  b=$(make_bundle crio-unscanned 2 "io.kubernetes.cri-o.ImageRef=${PG_CONFIG_1#sha256:}" \
    "io.kubernetes.cri-o.ImageName=$PG_REPO:1")
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  assert_output_contains "has never been scanned"
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log engine "$(engine_re)"
  assert_log digest "$(digest_re 2)"
}

# ImageRepoDigests can be set by a pod author: alone it must not identify
# (let alone allow) an image.
case_crio_repodigests_not_trusted() {
  pg_db_scanned 1
  local b cid
  b=$(make_bundle crio-inject 2 "io.kubernetes.cri-o.ImageRepoDigests=$PG_REPO@$PG_MANIFEST_1")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision deny
}

case_annotation_keys() {
  pg_db_scanned 1
  pg_hook_config "$PG_DB" '.annotation_keys = ["example.com/image-digest"]' >"$PG_HOOK_CONFIG"
  local b cid
  b=$(make_bundle annot 1 "example.com/image-digest=$PG_MANIFEST_1")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision allow
  assert_log digest "$PG_MANIFEST_1"

  # The key resolves the unscanned image too (so it is not a blanket allow).
  b=$(make_bundle annot-unscanned 2 "example.com/image-digest=$PG_MANIFEST_2")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  wait_decision "$cid"
  assert_log decision deny
  assert_log reasons UNSCANNED
  assert_log digest "$PG_MANIFEST_2"

  # An annotation key that is not configured identifies nothing.
  b=$(make_bundle annot-other 1 "example.org/not-configured=$PG_MANIFEST_1")
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
}

case_unidentified_refused() {
  pg_db_scanned 1
  local b cid
  b=$(make_bundle unidentified 1)
  rm -f "$b/umoci.json"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "patchgate: refused container $cid"
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason UNIDENTIFIED
}

case_syslog_facility() {
  pg_db_scanned 1
  pg_hook_config "$PG_DB" '.syslog_facility = "local0"' >"$PG_HOOK_CONFIG"
  local b cid
  b=$(make_bundle facility 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  wait_decision "$cid"
  [[ $syslog_line == local0.* ]] || pg_fail "expected facility local0: $syslog_line"
}

# The hook reads only the policy index: one that is missing, cut short or
# not an index refuses the container, as does one older than a change of
# the database that was never compiled in (past index_max_lag); within
# index_max_lag the previous index decides (a writer's recompile is under
# way), and a recompile makes it current again.
case_index_faults_refused() {
  pg_db_scanned 1
  local idx=${PG_DB%.db}.idx d=$BATS_TEST_TMPDIR/idx b cid name
  b=$(make_bundle idxfault 1)
  mkdir -p "$d"
  run rt_run "$(new_cid)" "$b"
  assert_success
  assert_output_contains hello-from-container

  : >"$d/empty.idx"
  head -c $(($(stat -c %s "$idx") / 2)) "$idx" >"$d/truncated.idx"
  cp "$PG_DB" "$d/foreign.idx"
  local -A want=(
    [missing.idx]="is missing"
    [empty.idx]="is truncated or not a patchgate index"
    [truncated.idx]="is truncated or not a patchgate index"
    [foreign.idx]="is truncated or not a patchgate index"
  )
  for name in "${!want[@]}"; do
    pg_hook_config "$PG_DB" ".policy_index = \"$d/$name\"" >"$PG_HOOK_CONFIG"
    cid=$(new_cid)
    run rt_run "$cid" "$b"
    assert_failure
    refute_output_contains hello-from-container
    assert_output_matches "$(exit2_re)"
    assert_output_contains "policy index $d/$name ${want[$name]}"
    wait_decision "$cid"
    assert_log decision deny
    assert_log_reason POLICY_ERROR
  done
  [ ! -e "$d/missing.idx" ] || pg_fail "the hook created $d/missing.idx"

  # The database changed behind patchgate's back: the index is stale.
  sqlite3 "$PG_DB" "UPDATE scans SET scanned_at = scanned_at - 1"
  sleep 2.1
  pg_hook_config "$PG_DB" '.index_max_lag = "1s"' >"$PG_HOOK_CONFIG"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_contains "policy index $idx is stale"
  # Within the default index_max_lag (10m) the previous index decides.
  pg_hook_config "$PG_DB" >"$PG_HOOK_CONFIG"
  run rt_run "$(new_cid)" "$b"
  assert_success
  # Recompiled, it is current again, whatever the lag.
  "$PG_CLI" index build --db "$PG_DB" >/dev/null
  pg_hook_config "$PG_DB" '.index_max_lag = "1s"' >"$PG_HOOK_CONFIG"
  run rt_run "$(new_cid)" "$b"
  assert_success
  assert_output_contains hello-from-container
}
