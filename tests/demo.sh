#!/bin/bash
# `make demo`: patchgate-hook in front of runc, end to end, on this machine.
#
# Builds a tiny busybox OCI image, imports a (Trivy-format) scan report for
# it, sets a policy, and starts it under runc twice: once allowed, once
# refused (a second image that was never scanned), then the same scanned
# image at a clock past max_scan_age.  Shows runc's refusal message and the
# syslog lines.  Runs as root in its own mount namespace with its own
# rsyslogd, so the host's syslog and mounts are untouched.  Exits non-zero
# if an allowed run fails or a refused run succeeds.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$PWD/$BUILD ;;
esac
export BUILD PATCHGATE_BUILD=$BUILD PATCHGATE_SRC=$PWD

if [ "$(id -u)" != 0 ]; then
  echo "demo: run as root (runc and mounts need it)" >&2
  exit 1
fi

# shellcheck source=lib.sh
source tests/lib.sh

# Re-run in a private mount namespace: /dev/log and the syslog socket exist
# only there.
if ! pg_in_private_mount_ns; then
  if [ -n "${PATCHGATE_DEMO_UNSHARED:-}" ]; then
    echo "demo: still not in a private mount namespace after unshare -m; giving up" >&2
    exit 1
  fi
  export PATCHGATE_DEMO_UNSHARED=1
  exec unshare -m --propagation private "$0" "$@"
fi

missing=$(pg_missing_cmds runc umoci jq rsyslogd logger busybox)
if [ -n "$missing" ]; then
  echo "demo: missing tools: $missing (make deps installs them)" >&2
  exit 1
fi
pg_set_binaries
for b in "$PG_HOOK_BIN" "$PG_CLI"; do
  [ -x "$b" ] || {
    echo "demo: $b is missing: run make" >&2
    exit 1
  }
done

WORK=$(mktemp -d /tmp/patchgate-demo.XXXXXX)
RT_ROOT=$WORK/runc-root
IDS=()
cleanup() {
  local id
  for id in "${IDS[@]}"; do
    runc --root "$RT_ROOT" delete -f "$id" >/dev/null 2>&1 || true
  done
  pg_syslog_stop || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }
show() { sed 's/^/    /'; }

export PG_WORK=$WORK
pg_init_clock

step "Building a tiny OCI image (busybox-static, umoci) in $WORK/oci"
pg_build_image "$WORK"
echo "    image $PG_REPO:1  manifest $PG_MANIFEST_1"
echo "                            config   $PG_CONFIG_1"

step "Building a second image (one more file) that nobody has scanned"
pg_make_variant_image 2 "never scanned"
echo "    image $PG_REPO:2  manifest $PG_MANIFEST_2"

step "Starting a private rsyslogd; its socket is bind-mounted on /dev/log"
pg_syslog_start "$WORK/syslog"
echo "    rsyslogd pid $PG_SYSLOG_PID, log file $PG_SYSLOG_FILE"

DB=$WORK/policy.db
step "Importing a Trivy report for image 1, scanned 1 day ago: patchgate import --db $DB"
make_trivy_report 1 "$(pg_days_ago 1)" >"$WORK/trivy-report.json"
"$PG_CLI" import --db "$DB" "$WORK/trivy-report.json" 2>&1 | show

step "Setting the policy (unscanned: deny, max_scan_age: 7d): patchgate policy set"
pg_policy '.version = "demo-1"' >"$WORK/policy.json"
show <"$WORK/policy.json"
"$PG_CLI" policy set --db "$DB" "$WORK/policy.json" 2>&1 | show
"$PG_CLI" status --db "$DB" 2>&1 | show || true

PG_HOOK_CONFIG=$WORK/hook.json
pg_hook_config "$DB" >"$PG_HOOK_CONFIG"
PG_BUNDLE_DIR=$WORK/bundles
export PG_HOOK_CONFIG PG_BUNDLE_DIR

# run_container NAME IMAGE : runc run, output shown; returns runc's status.
run_container() {
  local id=demo-$1 bundle=$PG_BUNDLE_DIR/$1 rc=0
  IDS+=("$id")
  echo "    \$ runc run --bundle $bundle $id"
  runc --root "$RT_ROOT" run --bundle "$bundle" "$id" </dev/null >"$WORK/$1.out" 2>&1 || rc=$?
  show <"$WORK/$1.out"
  echo "    (runc exit status $rc)"
  return $rc
}

fail=0

step "Run 1: the scanned image (hook at createRuntime, PATCHGATE_NOW=$PG_NOW) — should run"
make_bundle allowed 1 >/dev/null
if run_container allowed 1 && grep -q hello-from-container "$WORK/allowed.out"; then
  echo "    OK: allowed, the container ran"
else
  echo "    FAILED: the scanned image did not run" >&2
  fail=1
fi

step "Run 2: the unscanned image — should be refused"
make_bundle refused 2 >/dev/null
if run_container refused 2; then
  echo "    FAILED: the unscanned image ran" >&2
  fail=1
else
  echo "    OK: refused; the hook's reason is in runc's message above"
fi

step "Run 3: the scanned image 12 days later (PATCHGATE_NOW past max_scan_age) — should be refused"
PG_NOW=$(pg_rfc3339 $((PG_NOW_EPOCH + 11 * 86400)))
make_bundle stale 1 >/dev/null
if run_container stale 1; then
  echo "    FAILED: the stale image ran" >&2
  fail=1
else
  echo "    OK: refused as stale"
fi

step "What the hook logged (syslog, ident patchgate-hook)"
for id in demo-allowed demo-refused demo-stale; do
  wait_syslog "patchgate-hook.*container=$id( |\$)" >/dev/null 2>&1 || {
    echo "    FAILED: no syslog line for $id" >&2
    fail=1
  }
done
grep 'patchgate-hook' "$PG_SYSLOG_FILE" | show || true

step "The same decision, explained by the CLI: patchgate check --bundle"
"$PG_CLI" check --db "$DB" --bundle "$PG_BUNDLE_DIR/refused" --at "$PG_NOW" 2>&1 | show || true

if [ $fail -eq 0 ]; then
  step "Demo passed: allowed once, refused twice, every decision in syslog"
else
  step "Demo FAILED (see above)"
fi
exit $fail
