#!/bin/bash
# patchgate benchmarks.  `make bench` builds the programs and runs this with
# BUILD set; it prints a table and rewrites BENCHMARKS.md (the part above the
# "kept by run.sh" marker; the notes below it are kept).
#
# Every measurement is a ratio to a baseline timed in the same run, the
# commands interleaved round by round (tests/bench/hook_timer.c), because
# this machine is shared and its speed drifts from minute to minute:
#   1. hook decision, whole process, vs the floor (tests/bench/floor.c)
#   2. the same at every database size: lookups must stay flat
#   3. `runc run` of a busybox container with and without the hook, and,
#      from a kernel trace of the same starts (perf, tests/bench/runc_span.py),
#      how long runc waits for each hook and what follows it
#   4. import throughput vs parsing the same reports (tests/bench/parse_floor.c)
#   5. the hook's peak RSS at every size, and the hook with metrics on
#      (README, "Metrics") against the same hook with them off
#   6. compiling the policy index: `policy set` (every image) at every size,
#      and `import` of one report into the BENCH_IMPORT_SIZE database, the
#      whole command timed (its transaction in place, then the index's
#      refresh: only the images it changed), against the 1 s target
#   7. the hook on a podman host: its store (containers/storage) of a few
#      containers vs one of thousands (tests/bench/gen_storage.py)
# plus instruction counts (valgrind --tool=callgrind), which the noise does
# not move, and cold-cache decisions (the database dropped from the page
# cache before each run).
#
# Environment:
#   BENCH_SIZES           image counts (default "1000 100000 1000000";
#                         quick: "1000 10000")
#   BENCH_RUNS            runs of each hook command (default 1000)
#   BENCH_COLD_RUNS       cold-cache runs per size (default 30)
#   BENCH_RUNC_RUNS       runs of each runc command (default 1000: a start
#                         varies by milliseconds, the effect measured is 1%)
#   BENCH_SPAN_RUNS       traced runc runs, with the floor and with the hook
#                         (default 500)
#   BENCH_IMPORT_REPORTS  nginx reports per import run (default 1000)
#   BENCH_PACKAGES        packages per image (default 200)
#   BENCH_STEPS           any of "hook cold callgrind runc import compile storage"
#                         (default all)
#   BENCH_STORES          podman stores, CONTAINERS:IMAGES each; the first is the
#                         baseline (default "10:3 3000:751")
#   BENCH_IMPORT_SIZE     the database one report is imported into (default:
#                         100000 when measured, else the largest size)
#   BENCH_DATA            where databases are kept (default build/bench-data)
#   BENCH_OUT             the report (default BENCHMARKS.md; "-": none)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# Each decision is logged as on a host, to an rsyslogd on /dev/log; it is
# a private one (tests/lib.sh), bind-mounted in a mount namespace of this
# run's own.
if [ -z "${PG_BENCH_PRIVATE_NS:-}" ]; then
  exec env PG_BENCH_PRIVATE_NS=1 unshare -m --propagation private "$ROOT/tests/bench/run.sh" "$@"
fi
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
DATA=${BENCH_DATA:-$ROOT/build/bench-data}
SIZES=${BENCH_SIZES:-1000 100000 1000000}
RUNS=${BENCH_RUNS:-1000}
# Runs of the hook with the CPU's caches evicted before each.
CPUCOLD_RUNS=$((RUNS / 2))
COLD_RUNS=${BENCH_COLD_RUNS:-30}
RUNC_RUNS=${BENCH_RUNC_RUNS:-1000}
SPAN_RUNS=${BENCH_SPAN_RUNS:-500}
IMPORT_REPORTS=${BENCH_IMPORT_REPORTS:-1000}
PACKAGES=${BENCH_PACKAGES:-200}
VULNS=50
SEED=1
STEPS=${BENCH_STEPS:-hook cold callgrind runc import compile storage}
STORES=${BENCH_STORES:-10:3 3000:751}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
# The clock of every decision: generated scans are relative to it.
export PATCHGATE_NOW=2026-11-20T12:00:00Z
NGINX=${BENCH_NGINX_REPORT:-$ROOT/../shared/testdata/reports/trivy/nginx-debian12.json}

HOOK=$B/patchgate-hook
CLI=$B/patchgate
GEN=$B/bench/gen_db
TIMER=$B/bench/hook_timer
FLOOR=$B/bench/floor
PARSE=$B/bench/parse_floor
SQLFLOOR=$B/bench/sqlite_floor
CDBFLOOR=$B/bench/cdb_floor
SFLOOR=$B/bench/floor_static
NOSANDBOX=$B/bench/hook_nosandbox
EVICT=$B/bench/cache_evict
RESULTS=$DATA/results
MARKER='<!-- Everything below this line is kept by tests/bench/run.sh. -->'

log() { echo "bench: $*" >&2; }
die() {
  log "$*"
  exit 1
}
want() { [[ " $STEPS " == *" $1 "* ]]; }

for f in "$HOOK" "$CLI" "$GEN" "$TIMER" "$FLOOR" "$SFLOOR" "$PARSE" "$SQLFLOOR" "$CDBFLOOR" "$NOSANDBOX" "$EVICT"; do
  [ -x "$f" ] || die "$f is missing: run \`make bench\`"
done
for c in jq runc busybox valgrind python3 perf; do
  command -v "$c" >/dev/null || die "$c is missing: run \`make deps\`"
done
mkdir -p "$DATA" "$RESULTS"
rm -f "$RESULTS"/*
# Every program is timed as a host runs it: installed, and installed again
# before each timed step.  How a binary's pages came into the page cache
# moves each exec of the hook by tens of microseconds (paired, against a
# copy just installed: +50 us for the linker's own output, +36 us once
# evicted and read back, +61 us once evicted and faulted in by exec;
# BENCHMARKS.md), and the database steps evict what they do not use.
BIN=$DATA/bin
PROGRAMS="HOOK CLI GEN TIMER FLOOR SFLOOR PARSE SQLFLOOR CDBFLOOR NOSANDBOX EVICT"
rm -rf "$BIN"
install -d "$BIN"
for v in $PROGRAMS; do
  install -m 0755 "${!v}" "$BIN/"
  printf -v "$v" '%s' "$BIN/$(basename "${!v}")"
done
# install_programs : install every program again, over itself.
install_programs() {
  local v
  for v in $PROGRAMS; do
    install -m 0755 "${!v}" "${!v}.new"
    mv -f "${!v}.new" "${!v}"
  done
}
command -v rsyslogd >/dev/null || die "rsyslogd is missing: run \`make deps\`"
# shellcheck source=tests/lib.sh
. "$ROOT/tests/lib.sh"
pg_syslog_start "$DATA/syslog" || die "could not start a private rsyslogd on /dev/log"
trap 'pg_syslog_stop' EXIT
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# kv FILE KEY : the value of KEY=... in FILE.
kv() { sed -n "s/^$2=//p" "$1" | head -1; }
# field LINE KEY : the value of KEY=... in a hook_timer line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1000 }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1024 }'; }
# share D B [FORMAT] : D as a percentage of B (printf FORMAT, default %.1f).
share() { awk -v d="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { printf f, d / b * 100 }'; }
# within_1pct LO HI : the verdict on a 95% interval of a share: met when all
# of it is at most 1%, missed when all of it is above, else not resolved.
within_1pct() { awk -v lo="$1" -v hi="$2" 'BEGIN { print (hi <= 1) ? "met" : (lo > 1) ? "MISSED" : "not resolved" }'; }

# ---- databases -------------------------------------------------------------

# ensure_db N : build/bench-data/db-N.db, generated once per parameter set.
ensure_db() {
  local n=$1 db=$DATA/db-$1.db params
  params="data_version=$("$GEN" --data-version) images=$n packages=$PACKAGES vulns=$VULNS seed=$SEED now=$PATCHGATE_NOW"
  if [ -f "$db" ] && [ -f "$db.params" ] && [ "$(cat "$db.params")" = "$params" ] && [ -f "$db.info" ]; then
    log "reusing $db ($(du -h "$db" | cut -f1))"
  else
    log "generating $db: $params"
    # A WAL left beside a database must never meet another one.
    rm -f "$db" "$db.params" "$db.info" "$db.tmp" "$db.tmp-journal" "$db-wal" "$db-shm"
    "$GEN" --db "$db.tmp" --images "$n" --packages "$PACKAGES" --vulns "$VULNS" --seed "$SEED" \
      --now "$PATCHGATE_NOW" >"$db.info.tmp"
    echo "bytes=$(stat -c %s "$db.tmp")" >>"$db.info.tmp"
    mv "$db.tmp" "$db"
    mv "$db.info.tmp" "$db.info"
    echo "$params" >"$db.params"
  fi
  # A kept database gets the current schema (and whatever else the store
  # derives when it is opened for writing).
  "$GEN" --db "$db" --upgrade
  # And the policy index the hook reads, compiled as `policy set` does it
  # (every image), timed: measurement 6.
  "$CLI" policy show --db "$db" >"$DATA/policy-$n.json"
  local t0 t1
  t0=$(date +%s%N)
  "$CLI" policy set --db "$db" "$DATA/policy-$n.json" >/dev/null
  t1=$(date +%s%N)
  echo "compile-$n seconds=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }') bytes=$(stat -c %s "$DATA/db-$n.idx")" >>"$RESULTS/compile.txt"
  log "policy set (index of $n images): $(tail -n 1 "$RESULTS/compile.txt")"
}

# ---- bundles ---------------------------------------------------------------

ROOTFS=$DATA/rootfs
make_rootfs() {
  [ -x "$ROOTFS/bin/busybox" ] && return 0
  rm -rf "$ROOTFS"
  mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp" "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/sys"
  cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
  for l in sh true echo; do ln -sf busybox "$ROOTFS/bin/$l"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOTFS/etc/passwd"
}

# make_bundle DIR DIGEST HOOK_CONFIG|""|floor : a runc bundle running
# /bin/true from the shared busybox rootfs, with umoci.json naming DIGEST (as
# `umoci unpack` writes it) and, unless HOOK_CONFIG is empty, patchgate-hook
# at createRuntime ("floor": the floor program as the hook instead).
make_bundle() {
  local dir=$1 digest=$2 cfg=$3 bin=${4:-$HOOK} hook
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && runc spec)
  if [ "$cfg" = floor ]; then
    hook=$(jq -cn --arg path "$FLOOR" '{path: $path, args: ["floor"], timeout: 10}')
  else
    hook=$(jq -cn --arg path "$bin" --arg cfg "$cfg" --arg now "$PATCHGATE_NOW" \
      '{path: $path, args: ["patchgate-hook", "--config", $cfg], env: ["PATCHGATE_NOW=\($now)"], timeout: 10}')
  fi
  jq --arg root "$ROOTFS" --argjson hook "$hook" --arg cfg "$cfg" '
      .process.args = ["/bin/true"] | .process.terminal = false
    | .root = {path: $root, readonly: true}
    | .annotations = {"org.opencontainers.image.ref.name": "latest"}
    | if $cfg == "" then . else .hooks = {createRuntime: [$hook]} end' \
    "$dir/config.json" >"$dir/config.json.new"
  mv "$dir/config.json.new" "$dir/config.json"
  jq -n --arg d "$digest" '{
    from_descriptor_path: {descriptor_walk: [
      {mediaType: "application/vnd.oci.image.index.v1+json",
       digest: "sha256:1f5e1a4a3c5b2d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60", size: 256,
       annotations: {"org.opencontainers.image.ref.name": "latest"}},
      {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: 1024}]},
    map_options: {uid_mappings: null, gid_mappings: null, rootless: false}}' >"$dir/umoci.json"
}

# make_state FILE BUNDLE ID : the OCI state runc writes on the hook's stdin.
make_state() {
  jq -cn --arg b "$2" --arg id "$3" --slurpfile c "$2/config.json" \
    '{ociVersion: "1.0.2", id: $id, status: "creating", pid: 4242, bundle: $b,
      annotations: ($c[0].annotations // {})}' >"$1"
}

LARGEST=
for n in $SIZES; do
  ensure_db "$n"
  LARGEST=$n
done
make_rootfs
for n in $SIZES; do
  echo "{\"policy_db\": \"$DATA/db-$n.db\", \"on_error\": \"deny\", \"test_clock\": true}" >"$DATA/hook-$n.json"
  make_bundle "$DATA/bundle-$n" "$(kv "$DATA/db-$n.db.info" target_digest)" "$DATA/hook-$n.json"
  make_state "$DATA/state-$n.json" "$DATA/bundle-$n" "bench-$n"
  # The decision must be what the benchmark says it is.
  "$HOOK" --config "$DATA/hook-$n.json" <"$DATA/state-$n.json" 2>"$RESULTS/check-$n.err" || {
    cat "$RESULTS/check-$n.err" >&2
    die "the hook does not allow the benchmark image at $n images"
  }
  # ... and it reaches the rsyslogd, as on a host.
  for _ in $(seq 50); do
    grep -q "decision=allow container=bench-$n " "$PG_SYSLOG_FILE" && break
    sleep 0.1
  done
  grep -q "decision=allow container=bench-$n " "$PG_SYSLOG_FILE" || {
    cat "$RESULTS/check-$n.err" >&2
    die "the hook's decision at $n images did not reach the rsyslogd on /dev/log"
  }
done
# Metrics on (README, "Metrics"): counted and the textfile published at
# most every metrics_interval (the default, 10 s), or after every decision
# ("0s"), or counted only; new files each run.
mkdir -p "$DATA/textfile" "$DATA/textfile-every"
chmod 0755 "$DATA/textfile" "$DATA/textfile-every"
rm -f "$DATA/metrics.counters" "$DATA/metrics-count.counters" "$DATA/metrics-every.counters" \
  "$DATA/textfile/patchgate.prom" "$DATA/textfile-every/patchgate.prom"
jq --arg t "$DATA/textfile/patchgate.prom" --arg c "$DATA/metrics.counters" \
  '.metrics_textfile = $t | .metrics_counters = $c' "$DATA/hook-$LARGEST.json" >"$DATA/hook-metrics-$LARGEST.json"
jq --arg t "$DATA/textfile-every/patchgate.prom" --arg c "$DATA/metrics-every.counters" \
  '.metrics_textfile = $t | .metrics_counters = $c | .metrics_interval = "0s"' "$DATA/hook-$LARGEST.json" \
  >"$DATA/hook-every-$LARGEST.json"
jq --arg c "$DATA/metrics-count.counters" '.metrics_counters = $c' "$DATA/hook-$LARGEST.json" \
  >"$DATA/hook-count-$LARGEST.json"
"$HOOK" --config "$DATA/hook-metrics-$LARGEST.json" <"$DATA/state-$LARGEST.json" 2>"$RESULTS/check-metrics.err" &&
  grep -q 'patchgate_decisions_total{decision="allow"} 1$' "$DATA/textfile/patchgate.prom" || {
  cat "$RESULTS/check-metrics.err" >&2
  die "the hook with metrics on does not allow the benchmark image, or wrote no textfile"
}
make_bundle "$DATA/bundle-deny" "$(kv "$DATA/db-$LARGEST.db.info" deny_digest)" "$DATA/hook-$LARGEST.json"
make_state "$DATA/state-deny.json" "$DATA/bundle-deny" "bench-deny"
make_bundle "$DATA/bundle-metrics" "$(kv "$DATA/db-$LARGEST.db.info" target_digest)" "$DATA/hook-metrics-$LARGEST.json"
make_bundle "$DATA/bundle-plain" "$(kv "$DATA/db-$LARGEST.db.info" target_digest)" ""
make_bundle "$DATA/bundle-floorhook" "$(kv "$DATA/db-$LARGEST.db.info" target_digest)" floor
make_bundle "$DATA/bundle-nosandbox" "$(kv "$DATA/db-$LARGEST.db.info" target_digest)" "$DATA/hook-$LARGEST.json" \
  "$NOSANDBOX"

# ---- 1, 2, 5: hook decisions -----------------------------------------------

FLOOR_STATE=$DATA/state-$LARGEST.json
if want hook || want cold || want runc || want storage; then
  # After the databases' steps, before the first timed one.
  install_programs
fi
if want hook; then
  log "hook: $RUNS runs of each, interleaved"
  args=(--cmd floor 0 "$FLOOR_STATE" "$FLOOR")
  args+=(--cmd floor-static 0 "$FLOOR_STATE" "$SFLOOR")
  args+=(--cmd "sqlite-floor-$LARGEST" 0 "$FLOOR_STATE" "$SQLFLOOR" "$DATA/db-$LARGEST.db"
    "$(kv "$DATA/db-$LARGEST.db.info" target_digest)")
  args+=(--cmd "cdb-floor-$LARGEST" 0 "$FLOOR_STATE" "$CDBFLOOR" "$DATA/db-$LARGEST.idx"
    "$(kv "$DATA/db-$LARGEST.db.info" target_digest)")
  for n in $SIZES; do
    args+=(--cmd "hook-$n" 0 "$DATA/state-$n.json" "$HOOK" --config "$DATA/hook-$n.json")
  done
  args+=(--cmd "deny-$LARGEST" 1 "$DATA/state-deny.json" "$HOOK" --config "$DATA/hook-$LARGEST.json")
  args+=(--cmd "nosandbox-$LARGEST" 0 "$DATA/state-$LARGEST.json" "$NOSANDBOX" --config "$DATA/hook-$LARGEST.json")
  args+=(--cmd "metrics-$LARGEST" 0 "$DATA/state-$LARGEST.json" "$HOOK" --config "$DATA/hook-metrics-$LARGEST.json")
  args+=(--cmd "count-$LARGEST" 0 "$DATA/state-$LARGEST.json" "$HOOK" --config "$DATA/hook-count-$LARGEST.json")
  args+=(--cmd "every-$LARGEST" 0 "$DATA/state-$LARGEST.json" "$HOOK" --config "$DATA/hook-every-$LARGEST.json")
  "$TIMER" -n "$RUNS" -w 20 "${args[@]}" | tee "$RESULTS/hook.txt"
fi

# The same with the CPU's caches evicted before each run (cache_evict.c),
# as a runtime's own work evicts them between two hooks: what the start of
# a container sees, and why measurement 3 finds more than the figures above.
if want hook; then
  log "hook with the CPU caches evicted before each run: $CPUCOLD_RUNS runs"
  "$TIMER" -n "$CPUCOLD_RUNS" -w 10 --cmd floor 0 "$FLOOR_STATE" "$FLOOR" \
    --cmd evict-1 0 "$FLOOR_STATE" "$EVICT" \
    --cmd "cpucold-$LARGEST" 0 "$DATA/state-$LARGEST.json" "$HOOK" --config "$DATA/hook-$LARGEST.json" \
    --cmd evict-2 0 "$FLOOR_STATE" "$EVICT" | grep -v '^evict-' | tee "$RESULTS/cpucold.txt"
fi

if want cold; then
  for n in $SIZES; do
    log "cold cache, $n images: $COLD_RUNS runs, the database evicted before each"
    "$TIMER" -n "$COLD_RUNS" -w 2 -e "$DATA/db-$n.idx" --cmd floor 0 "$FLOOR_STATE" "$FLOOR" \
      --cmd "cold-$n" 0 "$DATA/state-$n.json" "$HOOK" --config "$DATA/hook-$n.json" | tee -a "$RESULTS/cold.txt"
  done
fi

if want callgrind; then
  # valgrind cannot run a process that loads a seccomp filter: the hook
  # is counted without its sandbox (tests/bench/hook_nosandbox.c).
  log "instruction counts (callgrind)"
  ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*Collected : *//p'; }
  echo "floor $(ir "$FLOOR" <"$FLOOR_STATE")" | tee "$RESULTS/callgrind.txt"
  echo "sqlite-floor-$LARGEST $(ir "$SQLFLOOR" "$DATA/db-$LARGEST.db" "$(kv "$DATA/db-$LARGEST.db.info" target_digest)" <"$FLOOR_STATE")" |
    tee -a "$RESULTS/callgrind.txt"
  for n in $SIZES; do
    echo "hook-$n $(ir "$NOSANDBOX" --config "$DATA/hook-$n.json" <"$DATA/state-$n.json")" | tee -a "$RESULTS/callgrind.txt"
  done
  echo "metrics-$LARGEST $(ir "$NOSANDBOX" --config "$DATA/hook-metrics-$LARGEST.json" <"$DATA/state-$LARGEST.json")" |
    tee -a "$RESULTS/callgrind.txt"
fi

# ---- 3: runc ---------------------------------------------------------------

if want runc; then
  install_programs
  log "runc run: $RUNC_RUNS runs without a hook, with the floor as hook, with patchgate-hook ($LARGEST images), with metrics, without its sandbox"
  # Its own mount namespace, so that nothing runc mounts outlives the run.
  runc=$(command -v runc)
  unshare -m --propagation private "$TIMER" -n "$RUNC_RUNS" -w 5 \
    --cmd runc-plain 0 /dev/null "$runc" --root "$DATA/runc-root" run --bundle "$DATA/bundle-plain" bench-plain \
    --cmd runc-floorhook 0 /dev/null "$runc" --root "$DATA/runc-root" run --bundle "$DATA/bundle-floorhook" bench-floor \
    --cmd runc-hook 0 /dev/null "$runc" --root "$DATA/runc-root" run --bundle "$DATA/bundle-$LARGEST" bench-hook \
    --cmd runc-metrics 0 /dev/null "$runc" --root "$DATA/runc-root" run --bundle "$DATA/bundle-metrics" bench-metrics \
    --cmd runc-nosandbox 0 /dev/null "$runc" --root "$DATA/runc-root" run --bundle "$DATA/bundle-nosandbox" \
    bench-nosandbox |
    tee "$RESULTS/runc.txt"
  # A start varies by milliseconds, the hook's share of it is tenths of
  # one: the same starts again, traced (the scheduler's fork, exec and exit
  # events), so that the time runc waits for each hook, and what follows
  # it, are measured apart from the rest of the start.
  log "runc run, traced: $SPAN_RUNS runs with the floor as hook and with patchgate-hook"
  unshare -m --propagation private perf record -q -a -o "$DATA/runc-trace.data" \
    -e sched:sched_process_fork -e sched:sched_process_exec -e sched:sched_process_exit -- \
    "$TIMER" -n "$SPAN_RUNS" -w 5 \
    --cmd runc-floorhook 0 /dev/null "$runc" --root "$DATA/runc-root" run --bundle "$DATA/bundle-floorhook" bench-floor \
    --cmd runc-hook 0 /dev/null "$runc" --root "$DATA/runc-root" run --bundle "$DATA/bundle-$LARGEST" bench-hook \
    >"$RESULTS/runc-traced.txt"
  perf script -F pid,tid,time,event,trace -i "$DATA/runc-trace.data" 2>/dev/null |
    python3 "$ROOT/tests/bench/runc_span.py" "$(basename "$FLOOR")" "$(basename "$HOOK")" |
    tee "$RESULTS/runc-span.txt"
  rm -f "$DATA/runc-trace.data"
fi

# ---- 4: import -------------------------------------------------------------

if want import; then
  stream=$DATA/nginx-$IMPORT_REPORTS.json
  if [ ! -s "$stream" ]; then
    log "writing $IMPORT_REPORTS copies of $(basename "$NGINX") under new digests"
    # Image ID and repo digest: 64 decimal digits (valid hex), one per copy.
    jq --argjson n "$IMPORT_REPORTS" '. as $r | range($n) | tostring as $s
      | ("0" * (64 - ($s | length))) as $pad
      | $r | .Metadata.ImageID = "sha256:" + $pad + $s
      | .Metadata.RepoDigests = ["nginx@sha256:f" + $pad[1:] + $s]
      | .ArtifactName = "nginx@sha256:f" + $pad[1:] + $s' "$NGINX" >"$stream.tmp"
    mv "$stream.tmp" "$stream"
  fi
  log "import: $IMPORT_REPORTS reports into a new database, 5 runs"
  "$TIMER" -n 5 -w 1 --cmd parse 0 "$stream" "$PARSE" \
    --cmd import 0 "$stream" /bin/sh -c "rm -f '$DATA/import.db'; exec '$CLI' import --db '$DATA/import.db' -" |
    tee "$RESULTS/import.txt"
  "$CLI" status --db "$DATA/import.db" >"$RESULTS/import-status.txt" 2>&1 || true
  # Bundle bytes per image in transit (issue 12: <= 150): the database the
  # last run imported, with the example policy, as `bundle build` writes it.
  "$CLI" policy set --db "$DATA/import.db" "$ROOT/runtime-config/policy.example.json" >/dev/null &&
    "$CLI" bundle build -o "$DATA/import.bundle" --db "$DATA/import.db" --serial 1 >/dev/null ||
    die "bundle build of the import database failed"
  echo "bundle images=$IMPORT_REPORTS bytes=$(stat -c %s "$DATA/import.bundle")" | tee "$RESULTS/bundle.txt"
  rm -f "$DATA/import.bundle"
  rm -f "$DATA/import.db" "$DATA/import.db-wal" "$DATA/import.db-shm" "$DATA/import.db.lock" "$DATA/import.idx" \
    "$DATA/import.idx.lock"
  # The last run's database must hold every report, each a new image.
  [ "$(awk '$1 == "images:" { print $2 }' "$RESULTS/import-status.txt")" = "$IMPORT_REPORTS" ] ||
    die "the import did not record $IMPORT_REPORTS images: $(cat "$RESULTS/import-status.txt")"
fi

# ---- 6: one report into a large database ----------------------------------

if want compile; then
  IMPORT_SIZE=${BENCH_IMPORT_SIZE:-}
  if [ -z "$IMPORT_SIZE" ]; then
    IMPORT_SIZE=$LARGEST
    for n in $SIZES; do [ "$n" = 100000 ] && IMPORT_SIZE=100000; done
  fi
  log "import of one report into a copy of the $IMPORT_SIZE-image database, 7 times (a new image each)"
  scratch=$DATA/scratch
  rm -rf "$scratch"
  mkdir -p "$scratch"
  # No writer is at work: the file and whatever its WAL holds are the
  # database (a writer empties the WAL when it closes alone).
  cp --reflink=auto "$DATA/db-$IMPORT_SIZE.db" "$scratch/policy.db"
  if [ -s "$DATA/db-$IMPORT_SIZE.db-wal" ]; then
    cp --reflink=auto "$DATA/db-$IMPORT_SIZE.db-wal" "$scratch/policy.db-wal"
  fi
  cp --reflink=auto "$DATA/db-$IMPORT_SIZE.idx" "$scratch/policy.idx"
  # The copy's index is current: the first import can be incremental.
  : >"$RESULTS/import-one.txt"
  for i in 1 2 3 4 5 6 7; do
    jq --arg i "$i" '.Metadata.ImageID = "sha256:" + ("e" * 63) + $i
      | .Metadata.RepoDigests = ["nginx@sha256:" + ("d" * 63) + $i]' "$NGINX" >"$scratch/report-$i.json"
    t0=$(date +%s%N)
    "$CLI" import --db "$scratch/policy.db" "$scratch/report-$i.json" >/dev/null
    t1=$(date +%s%N)
    echo "$(((t1 - t0) / 1000))" >>"$RESULTS/import-one.txt"
  done
  "$CLI" index status --db "$scratch/policy.db" >"$RESULTS/import-one-status.txt"
  grep -q 'unchanged since' "$RESULTS/import-one-status.txt" ||
    die "the index after the imports is not current: $(cat "$RESULTS/import-one-status.txt")"
  rm -rf "$scratch"
fi

# ---- 7: a podman host's store ----------------------------------------------

if want storage; then
  install_programs
  # One container, CID, started from a store of C containers and I images in
  # podman's own format (gen_storage.py: the records `podman run` writes,
  # IDs and names replaced); it is the newest (the last record), its image
  # the benchmark's allowed image, the last of images.json.  The hook runs
  # as podman's hooks.d file wires it (--engine containers-storage), the
  # bundle is the container's userdata directory, the policy index the
  # smallest size's.
  first=${SIZES%% *}
  cid=$(printf 'patchgate-bench-storage' | sha256sum | cut -c1-64)
  : >"$RESULTS/storage-sizes.txt"
  sargs=(--cmd floor 0 "$FLOOR_STATE" "$FLOOR")
  # The largest store once more with the container's record first: the
  # oldest container started again (podman start), the whole file searched.
  for s in $STORES ${STORES##* }:oldest; do
    sc=${s%%:*} si=${s#*:} old=
    case $si in *:oldest) si=${si%:oldest} old=-oldest ;; esac
    st=$DATA/storage-$sc-$si$old
    log "podman store of $sc containers and $si images${old:+ (the container started is the oldest)}: $st"
    rm -rf "$st"
    python3 "$ROOT/tests/bench/gen_storage.py" --out "$st/graph" --driver overlay --containers "$sc" --images "$si" \
      --cid "$cid" --image-id "$(kv "$DATA/db-$first.db.info" target_image_id | sed 's/^sha256://')" \
      --image-ref "$(kv "$DATA/db-$first.db.info" target_ref)" \
      --image-digest "$(kv "$DATA/db-$first.db.info" target_digest)" --seed "$SEED" ${old:+--oldest}
    mkdir -p "$st/run/overlay-containers"
    jq -n --arg db "$DATA/db-$first.db" --arg g "$st/graph" --arg r "$st/run" --arg c "$st/no-storage.conf" \
      '{policy_db: $db, on_error: "deny", test_clock: true,
        storage_graphroot: $g, storage_runroot: $r, storage_driver: "overlay", storage_conf: $c}' >"$st/hook.json"
    make_bundle "$st/graph/overlay-containers/$cid/userdata" "" "$st/hook.json"
    rm -f "$st/graph/overlay-containers/$cid/userdata/umoci.json"
    make_state "$st/state.json" "$st/graph/overlay-containers/$cid/userdata" "$cid"
    echo "storage-$sc-$si$old containers_bytes=$(stat -c %s "$st/graph/overlay-containers/containers.json") images_bytes=$(stat -c %s "$st/graph/overlay-images/images.json")" >>"$RESULTS/storage-sizes.txt"
    # Allowed only when the store named the image: an unidentified
    # container is refused (on_unidentified), so is an unscanned image.
    "$HOOK" --config "$st/hook.json" --engine containers-storage <"$st/state.json" 2>"$RESULTS/check-storage-$sc.err" || {
      cat "$RESULTS/check-storage-$sc.err" >&2
      die "the hook does not allow the benchmark container in the store of $sc containers"
    }
    sargs+=(--cmd "storage-$sc-$si$old" 0 "$st/state.json" "$HOOK" --config "$st/hook.json" --engine containers-storage)
  done
  log "storage: $RUNS runs of each, interleaved"
  "$TIMER" -n "$RUNS" -w 20 "${sargs[@]}" | tee "$RESULTS/storage.txt"
  log "storage: instruction counts (callgrind, the hook without its sandbox)"
  for s in $STORES ${STORES##* }-oldest; do
    sc=${s%%:*} si=${s##*:}
    st=$DATA/storage-$sc-$si
    echo "storage-$sc-$si $(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$NOSANDBOX" --config "$st/hook.json" \
      --engine containers-storage <"$st/state.json" 2>&1 | sed -n 's/.*Collected : *//p')" | tee -a "$RESULTS/storage-callgrind.txt"
  done
fi

END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report ------------------------------------------------------------

line() { grep "^$1 " "$2" 2>/dev/null | head -1; }
pass() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : "MISSED" }'; }

report() {
  local f h n r cold cf hs
  echo "## Results"
  echo
  if [ -s "$RESULTS/hook.txt" ]; then
    f=$(line floor "$RESULTS/hook.txt")
    echo "### Hook decision, whole process (measurements 1, 2, 5)"
    echo
    echo "\`patchgate-hook --config <cfg>\` with runc's OCI state on stdin; the bundle's umoci.json names an"
    echo "image in the database; $RUNS runs of each command, interleaved with the floor."
    echo
    echo "| command | images | median | p99 | median / floor | p99 / floor | CPU median / floor | max RSS |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    echo "| floor (reads stdin, exits) | | $(ms "$(field "$f" median_us)") ms | $(ms "$(field "$f" p99_us)") ms | 1.00 | 1.00 | 1.00 | $(mib "$(field "$f" maxrss_kb)") MiB |"
    for n in floor-static sqlite-$LARGEST cdb-$LARGEST $SIZES deny-$LARGEST nosandbox-$LARGEST metrics-$LARGEST \
      every-$LARGEST count-$LARGEST; do
      case $n in
      metrics-*) h=$(line "$n" "$RESULTS/hook.txt") r="hook, metrics on (counted; textfile published at most every 10 s, the default)" n=$LARGEST ;;
      every-*) h=$(line "$n" "$RESULTS/hook.txt") r="hook, metrics on, textfile published after every decision (metrics_interval 0s)" n=$LARGEST ;;
      count-*) h=$(line "$n" "$RESULTS/hook.txt") r="hook, metrics counted only (no textfile)" n=$LARGEST ;;
      floor-static) h=$(line floor-static "$RESULTS/hook.txt") r="floor linked as the hook (static-pie)" n= ;;
      nosandbox-*) h=$(line "$n" "$RESULTS/hook.txt") r="hook without its sandbox (bench build)" n=$LARGEST ;;
      sqlite-*) h=$(line "sqlite-floor-$LARGEST" "$RESULTS/hook.txt") r="SQLite floor (open, one lookup)" n=$LARGEST ;;
      cdb-*) h=$(line "cdb-floor-$LARGEST" "$RESULTS/hook.txt") r="index floor (map the index, one lookup)" n=$LARGEST ;;
      deny-*) h=$(line "$n" "$RESULTS/hook.txt") r="hook, denied image" n=$LARGEST ;;
      *) h=$(line "hook-$n" "$RESULTS/hook.txt") r="hook, allowed image" ;;
      esac
      echo "| $r | $n | $(ms "$(field "$h" median_us)") ms | $(ms "$(field "$h" p99_us)") ms | $(ratio "$(field "$h" median_us)" "$(field "$f" median_us)") | $(ratio "$(field "$h" p99_us)" "$(field "$f" p99_us)") | $(ratio "$(field "$h" cpu_median_us)" "$(field "$f" cpu_median_us)") | $(mib "$(field "$h" maxrss_kb)") MiB |"
    done
    echo
    local first last hf hl
    first=${SIZES%% *}
    hf=$(line "hook-$first" "$RESULTS/hook.txt")
    hs=$(line floor-static "$RESULTS/hook.txt")
    hl=$(line "hook-$LARGEST" "$RESULTS/hook.txt")
    echo "Against the floor linked as the hook is (static-pie): hook at $LARGEST images = **$(ratio "$(field "$hl" median_us)" "$(field "$hs" median_us)")**x median, $(ratio "$(field "$hl" p99_us)" "$(field "$hs" p99_us)")x p99."
    echo
    local hm hc
    hm=$(line "metrics-$LARGEST" "$RESULTS/hook.txt")
    hc=$(line "count-$LARGEST" "$RESULTS/hook.txt")
    if [ -n "$hm" ]; then
      echo "Metrics (same run, $LARGEST images): hook with metrics on / off = **$(ratio "$(field "$hm" median_us)" "$(field "$hl" median_us)")**x median,"
      echo "$(ratio "$(field "$hm" p99_us)" "$(field "$hl" p99_us)")x p99, $(ratio "$(field "$hm" cpu_median_us)" "$(field "$hl" cpu_median_us)")x CPU; counted only (no textfile) / off ="
      echo "$(ratio "$(field "$hc" median_us)" "$(field "$hl" median_us)")x median."
      echo
    fi
    echo "Size ratios (median, same run):"
    for n in $SIZES; do
      [ "$n" = "$first" ] && continue
      hl=$(line "hook-$n" "$RESULTS/hook.txt")
      echo "hook at $n images / at $first images = **$(ratio "$(field "$hl" median_us)" "$(field "$hf" median_us)")** (p99: $(ratio "$(field "$hl" p99_us)" "$(field "$hf" p99_us)"));"
    done
    echo
    echo "Max RSS is the peak of any run (wait4's ru_maxrss; a spawned child's figure includes the timer's"
    echo "own ~1.3 MiB at exec, as the floor's line shows).  The SQLite floor (tests/bench/sqlite_floor.c)"
    echo "opens the $LARGEST-image database and runs one indexed lookup: what a SQLite-backed hook pays (the"
    echo "hook no longer does).  The index floor (tests/bench/cdb_floor.c) maps the $LARGEST-image policy"
    echo "index and looks the digest up: what any index-backed hook pays.  The hook reads only the index."
    if file -b "$HOOK" | grep -q 'static'; then
      echo "The hook is linked statically ($(file -b "$HOOK" | grep -o 'static-pie linked\|statically linked'))."
    else
      echo "The hook links: $(ldd "$HOOK" | awk '$1 ~ /^lib/ { printf "%s ", $1 }')"
    fi
    echo
  fi
  if [ -s "$RESULTS/callgrind.txt" ]; then
    cf=$(awk '$1 == "floor" { print $2 }' "$RESULTS/callgrind.txt")
    echo "### Instructions (valgrind --tool=callgrind, one run, from exec to exit)"
    echo
    echo "The hook is counted without its seccomp/capability sandbox, which valgrind cannot run"
    echo "(tests/bench/hook_nosandbox.c: same main, same library)."
    echo
    echo "| command | instructions | / floor |"
    echo "| --- | ---: | ---: |"
    while read -r n c; do
      echo "| $n | $(printf "%'d" "${c//,/}") | $(ratio "${c//,/}" "${cf//,/}") |"
    done <"$RESULTS/callgrind.txt"
    echo
  fi
  if [ -s "$RESULTS/cpucold.txt" ]; then
    local cf0 cc0
    cf0=$(line floor "$RESULTS/cpucold.txt")
    cc0=$(line "cpucold-$LARGEST" "$RESULTS/cpucold.txt")
    echo "### CPU caches evicted before every run ($CPUCOLD_RUNS runs)"
    echo
    echo "The floor and the hook ($LARGEST images), each run after tests/bench/cache_evict.c has written 96 MiB,"
    echo "as a runtime's own work evicts the CPU's caches between two hooks: the index stays in the page"
    echo "cache, the CPU's caches and TLB are cold."
    echo
    echo "| command | median | p99 | median / floor |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| floor | $(ms "$(field "$cf0" median_us)") ms | $(ms "$(field "$cf0" p99_us)") ms | 1.00 |"
    echo "| hook, allowed image | $(ms "$(field "$cc0" median_us)") ms | $(ms "$(field "$cc0" p99_us)") ms | $(ratio "$(field "$cc0" median_us)" "$(field "$cf0" median_us)") |"
    echo
    echo "The hook costs $(awk -v a="$(field "$cc0" median_us)" -v b="$(field "$cf0" median_us)" 'BEGIN { printf "%.2f", (a - b) / 1000 }') ms more than the floor here (median)."
    echo
  fi
  if [ -s "$RESULTS/cold.txt" ]; then
    echo "### Cold page cache (the policy index evicted before every run, $COLD_RUNS runs)"
    echo
    echo "| images | hook median | p99 | floor median (same run) | median / floor |"
    echo "| ---: | ---: | ---: | ---: | ---: |"
    for n in $SIZES; do
      cold=$(line "cold-$n" "$RESULTS/cold.txt")
      f=$(grep -B1 "^cold-$n " "$RESULTS/cold.txt" | grep '^floor ' || grep -A1 "^cold-$n " "$RESULTS/cold.txt" | grep '^floor ')
      [ -n "$cold" ] || continue
      echo "| $n | $(ms "$(field "$cold" median_us)") ms | $(ms "$(field "$cold" p99_us)") ms | $(ms "$(field "$f" median_us)") ms | $(ratio "$(field "$cold" median_us)" "$(field "$f" median_us)") |"
    done
    echo
  fi
  if [ -s "$RESULTS/runc.txt" ]; then
    local p k fh
    p=$(line runc-plain "$RESULTS/runc.txt")
    fh=$(line runc-floorhook "$RESULTS/runc.txt")
    k=$(line runc-hook "$RESULTS/runc.txt")
    pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'; }
    echo "### Container start under runc (measurement 3)"
    echo
    echo "\`runc run\` of busybox \`/bin/true\` (runc $(runc --version | sed -n 's/^runc version //p')), $RUNC_RUNS runs each, interleaved: no hook; the"
    echo "floor program as the createRuntime hook (what any hook costs runc: a fork, an exec, a sync with its"
    echo "child); patchgate-hook deciding against the $LARGEST-image database."
    echo
    echo "| command | median | p99 | median vs no hook | CPU median (runc and its children) | CPU vs no hook |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    echo "| runc run, no hook | $(ms "$(field "$p" median_us)") ms | $(ms "$(field "$p" p99_us)") ms | | $(ms "$(field "$p" cpu_median_us)") ms | |"
    echo "| runc run, floor as hook | $(ms "$(field "$fh" median_us)") ms | $(ms "$(field "$fh" p99_us)") ms | $(pct "$(field "$fh" median_us)" "$(field "$p" median_us)") | $(ms "$(field "$fh" cpu_median_us)") ms | $(pct "$(field "$fh" cpu_median_us)" "$(field "$p" cpu_median_us)") |"
    echo "| runc run, patchgate-hook | $(ms "$(field "$k" median_us)") ms | $(ms "$(field "$k" p99_us)") ms | $(pct "$(field "$k" median_us)" "$(field "$p" median_us)") | $(ms "$(field "$k" cpu_median_us)") ms | $(pct "$(field "$k" cpu_median_us)" "$(field "$p" cpu_median_us)") |"
    local km
    km=$(line runc-metrics "$RESULTS/runc.txt")
    local kn
    kn=$(line runc-nosandbox "$RESULTS/runc.txt")
    [ -n "$kn" ] && echo "| runc run, patchgate-hook without its sandbox (bench build) | $(ms "$(field "$kn" median_us)") ms | $(ms "$(field "$kn" p99_us)") ms | $(pct "$(field "$kn" median_us)" "$(field "$p" median_us)") | $(ms "$(field "$kn" cpu_median_us)") ms | $(pct "$(field "$kn" cpu_median_us)" "$(field "$p" cpu_median_us)") |"
    [ -n "$km" ] && echo "| runc run, patchgate-hook with metrics on | $(ms "$(field "$km" median_us)") ms | $(ms "$(field "$km" p99_us)") ms | $(pct "$(field "$km" median_us)" "$(field "$p" median_us)") | $(ms "$(field "$km" cpu_median_us)") ms | $(pct "$(field "$km" cpu_median_us)" "$(field "$p" cpu_median_us)") |"
    echo
    # pair_line A B : "X ms (95% interval LO to HI ms), Y% of a start" for
    # B's time minus A's, run by run.
    pair_line() {
      local pr m l h c
      pr=$(grep "^pair $1 $2 " "$RESULTS/runc.txt" | head -1)
      if [ -n "$pr" ]; then
        m=$(field "$pr" wall_diff_median_us) l=$(field "$pr" wall_diff_lo_us) h=$(field "$pr" wall_diff_hi_us)
        c=$(field "$pr" cpu_diff_median_us)
      else
        # hook_timer pairs commands in their order on its command line.
        pr=$(grep "^pair $2 $1 " "$RESULTS/runc.txt" | head -1)
        [ -n "$pr" ] || return 0
        m=$(awk -v v="$(field "$pr" wall_diff_median_us)" 'BEGIN { print -v }')
        l=$(awk -v v="$(field "$pr" wall_diff_hi_us)" 'BEGIN { print -v }')
        h=$(awk -v v="$(field "$pr" wall_diff_lo_us)" 'BEGIN { print -v }')
        c=$(awk -v v="$(field "$pr" cpu_diff_median_us)" 'BEGIN { print -v }')
      fi
      echo "$(ms "$m") ms (95% interval $(ms "$l") to $(ms "$h") ms), $(share "$m" "$(field "$p" median_us)" '%+.1f%%') of a start; CPU $(ms "$c") ms"
    }
    echo "Run by run (each round starts every variant once, so what drifts between rounds cancels; the"
    echo "median of the differences, with a 95% interval from the order statistics):"
    echo
    echo "- any hook (the floor as hook) over no hook: $(pair_line runc-plain runc-floorhook)"
    echo "- **patchgate-hook over the floor as hook: $(pair_line runc-floorhook runc-hook)**"
    [ -n "$(line runc-nosandbox "$RESULTS/runc.txt")" ] &&
      echo "- the sandbox (patchgate-hook over the same hook without it): $(pair_line runc-nosandbox runc-hook)"
    [ -n "$(line runc-metrics "$RESULTS/runc.txt")" ] &&
      echo "- metrics on over off: $(pair_line runc-hook runc-metrics)"
    echo
    if [ -s "$RESULTS/runc-span.txt" ]; then
      local sf sh
      sf=$(basename "$FLOOR") sh=$(basename "$HOOK")
      # span_row LABEL KIND : a row of the trace's table.
      span_row() {
        local a b pr
        a=$(grep "^$2 $sf " "$RESULTS/runc-span.txt") b=$(grep "^$2 $sh " "$RESULTS/runc-span.txt")
        pr=$(grep "^${2}pair $sf $sh " "$RESULTS/runc-span.txt")
        echo "| $1 | $(ms "$(field "$a" median_us)") ms | $(ms "$(field "$b" median_us)") ms | $(ms "$(field "$pr" diff_median_us)") ms ($(ms "$(field "$pr" diff_lo_us)") to $(ms "$(field "$pr" diff_hi_us)")) | $(share "$(field "$pr" diff_median_us)" "$(field "$p" median_us)" '%.2f%%') |"
      }
      echo "Traced: $SPAN_RUNS more starts with each (perf record of the scheduler's fork, exec and exit"
      echo "events; tests/bench/runc_span.py).  runc waits for a createRuntime hook from its fork to its exit:"
      echo "that span is all a hook adds to the start in line, and it varies by tens of microseconds where"
      echo "the whole start varies by milliseconds.  What a hook leaves behind (its log line's receiver at"
      echo "work, the kernel freeing its seccomp program, the caches it used) shows in the rest of the start."
      echo
      echo "| | floor as hook (median) | patchgate-hook (median) | patchgate-hook - floor, run by run (median, 95% interval) | share of a start |"
      echo "| --- | ---: | ---: | ---: | ---: |"
      span_row "runc waits for the hook (its fork to its exit)" span
      span_row "the rest of the start (the hook's exit to runc's)" after
      pr=$(grep "^pathpair $sf $sh " "$RESULTS/runc-span.txt")
      echo "| **both: the hook's fork to runc's exit** | | | **$(ms "$(field "$pr" diff_median_us)") ms ($(ms "$(field "$pr" diff_lo_us)") to $(ms "$(field "$pr" diff_hi_us)"))** | **$(share "$(field "$pr" diff_median_us)" "$(field "$p" median_us)" '%.2f%%')** |"
      echo
    fi
    echo "Medians apart:"
    echo
    echo "Overhead of patchgate-hook: **$(pct "$(field "$k" median_us)" "$(field "$p" median_us)")** wall (median; p99 $(pct "$(field "$k" p99_us)" "$(field "$p" p99_us)")),"
    echo "$(pct "$(field "$k" cpu_median_us)" "$(field "$p" cpu_median_us)") CPU; of which the decision itself (vs the floor as hook):"
    echo "$(pct "$(field "$k" median_us)" "$(field "$fh" median_us)") wall, $(pct "$(field "$k" cpu_median_us)" "$(field "$fh" cpu_median_us)") CPU."
    [ -n "$kn" ] && echo "The sandbox (capabilities dropped, seccomp loaded), the hook against the same hook without it: $(pct "$(field "$k" median_us)" "$(field "$kn" median_us)") wall, $(pct "$(field "$k" cpu_median_us)" "$(field "$kn" cpu_median_us)") CPU; the hook without it against the floor as hook: $(pct "$(field "$kn" median_us)" "$(field "$fh" median_us)") wall."
    [ -n "$km" ] && echo "Metrics on, against the same hook off: $(pct "$(field "$km" median_us)" "$(field "$k" median_us)") wall, $(pct "$(field "$km" cpu_median_us)" "$(field "$k" cpu_median_us)") CPU."
    echo
  fi
  if [ -s "$RESULTS/compile.txt" ]; then
    echo "### Compiling the policy index (measurement 6)"
    echo
    echo "\`patchgate policy set\` on each kept database: the policy stored, then every image compiled into"
    echo "the index (what a new policy costs); then \`patchgate import\` of one Trivy report (a new image)"
    echo "into a copy of the ${IMPORT_SIZE:-?}-image database, 7 times, the whole command timed: its transaction"
    echo "on the database in place, then the index's refresh (the images it changed compiled again, the"
    echo "other records copied from the previous index)."
    echo
    echo "| command | images | wall | index size |"
    echo "| --- | ---: | ---: | ---: |"
    for n in $SIZES; do
      h=$(line "compile-$n" "$RESULTS/compile.txt")
      [ -n "$h" ] || continue
      echo "| policy set (every image) | $n | $(field "$h" seconds) s | $(awk -v b="$(field "$h" bytes)" 'BEGIN { printf "%.1f MB", b / 1e6 }') |"
    done
    if [ -s "$RESULTS/import-one.txt" ]; then
      echo "| import of one report, whole command (median of 7; max) | ${IMPORT_SIZE:-} | $(sort -n "$RESULTS/import-one.txt" | awk '{ v[NR] = $1 } END { printf "%.2f s (max %.2f s)", v[int((NR + 1) / 2)] / 1e6, v[NR] / 1e6 }') | |"
    fi
    echo
  fi
  if [ -s "$RESULTS/import.txt" ]; then
    local pa im
    pa=$(line parse "$RESULTS/import.txt")
    im=$(line import "$RESULTS/import.txt")
    echo "### Import (measurement 4)"
    echo
    echo "\`patchgate import --db NEW -\` of $IMPORT_REPORTS copies of the Trivy nginx report"
    echo "($(du -k "$NGINX" | cut -f1) KB, 45 findings; Metadata.ImageID and RepoDigests rewritten per copy), 5 runs;"
    echo "baseline: parsing the same stream with jansson and nothing else (parse_floor)."
    echo
    rate() { awk -v n="$IMPORT_REPORTS" -v t="$1" 'BEGIN { printf "%.0f", n / t * 1e6 }'; }
    echo "| command | median | reports/s | / parse only | CPU median | reports per CPU-second |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    echo "| parse only | $(ms "$(field "$pa" median_us)") ms | $(rate "$(field "$pa" median_us)") | 1.00 | $(ms "$(field "$pa" cpu_median_us)") ms | $(rate "$(field "$pa" cpu_median_us)") |"
    echo "| patchgate import | $(ms "$(field "$im" median_us)") ms | $(rate "$(field "$im" median_us)") | $(ratio "$(field "$im" median_us)" "$(field "$pa" median_us)") | $(ms "$(field "$im" cpu_median_us)") ms | $(rate "$(field "$im" cpu_median_us)") |"
    echo
    if [ -s "$RESULTS/bundle.txt" ]; then
      local bb
      bb=$(field "$(cat "$RESULTS/bundle.txt")" bytes)
      echo "A bundle of that database (\`bundle build\`, runtime-config/policy.example.json): $bb bytes,"
      echo "$(awk -v b="$bb" -v n="$IMPORT_REPORTS" 'BEGIN { printf "%.1f", b / n }') bytes per image in transit (target: <= 150)."
      echo
    fi
  fi
  if [ -s "$RESULTS/storage.txt" ]; then
    local s0 sb sl st sz ci c0 cl
    f=$(line floor "$RESULTS/storage.txt")
    s0=${STORES%% *}
    sb=$(line "storage-${s0%%:*}-${s0##*:}" "$RESULTS/storage.txt")
    c0=$(awk -v n="storage-${s0%%:*}-${s0##*:}" '$1 == n { print $2 }' "$RESULTS/storage-callgrind.txt" 2>/dev/null)
    echo "### A podman host's store (measurement 7)"
    echo
    echo "\`patchgate-hook --engine containers-storage\` (as podman's hooks.d file runs it) starting the newest"
    echo "container of a containers/storage store in podman's own format (tests/bench/gen_storage.py: the"
    echo "records \`podman run\` writes, IDs and names replaced; its image the last of images.json), $RUNS runs"
    echo "of each, interleaved with the floor; instructions without the sandbox."
    echo
    echo "| containers | images | containers.json | images.json | median | p99 | median / floor | median / ${s0%%:*} containers | CPU / ${s0%%:*} containers | instructions | / ${s0%%:*} containers | max RSS |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    # storage_row NAME CONTAINERS IMAGES : the table's row of store NAME.
    storage_row() {
      local n=$1 h sz ci
      h=$(line "$n" "$RESULTS/storage.txt")
      sz=$(line "$n" "$RESULTS/storage-sizes.txt")
      ci=$(awk -v n="$n" '$1 == n { print $2 }' "$RESULTS/storage-callgrind.txt" 2>/dev/null)
      echo "| $2 | $3 | $(awk -v b="$(field "$sz" containers_bytes)" 'BEGIN { printf "%.1f KB", b / 1e3 }') | $(awk -v b="$(field "$sz" images_bytes)" 'BEGIN { printf "%.1f KB", b / 1e3 }') | $(ms "$(field "$h" median_us)") ms | $(ms "$(field "$h" p99_us)") ms | $(ratio "$(field "$h" median_us)" "$(field "$f" median_us)") | $(ratio "$(field "$h" median_us)" "$(field "$sb" median_us)") | $(ratio "$(field "$h" cpu_median_us)" "$(field "$sb" cpu_median_us)") | $(printf "%'d" "${ci:-0}") | $(ratio "${ci:-0}" "${c0:-1}") | $(mib "$(field "$h" maxrss_kb)") MiB |"
    }
    for st in $STORES; do
      storage_row "storage-${st%%:*}-${st##*:}" "${st%%:*}" "${st##*:}"
    done
    sl=${STORES##* }
    n="storage-${sl%%:*}-${sl##*:}-oldest"
    if [ -n "$(line "$n" "$RESULTS/storage.txt")" ]; then
      storage_row "$n" "${sl%%:*}, the container started the oldest (its record first)" "${sl##*:}"
      echo
      echo "The hook searches containers.json from its end: containers/storage appends each container it"
      echo "creates, so the container \`podman run\` creates and starts is found in the file's last bytes; a"
      echo "container started again costs the bytes of the containers created after it (the last row: all of them)."
    fi
    h=$(line "storage-${sl%%:*}-${sl##*:}" "$RESULTS/storage.txt")
    cl=$(awk -v n="storage-${sl%%:*}-${sl##*:}" '$1 == n { print $2 }' "$RESULTS/storage-callgrind.txt" 2>/dev/null)
    echo
    echo "hook on a store of ${sl%%:*} containers and ${sl##*:} images / on a store of ${s0%%:*} = **$(ratio "$(field "$h" median_us)" "$(field "$sb" median_us)")** (p99: $(ratio "$(field "$h" p99_us)" "$(field "$sb" p99_us)"); CPU: $(ratio "$(field "$h" cpu_median_us)" "$(field "$sb" cpu_median_us)"); instructions: $(ratio "${cl:-0}" "${c0:-1}"))."
    echo
  fi
}

targets() {
  local f hl hf p k im r c
  echo "## Targets"
  echo
  echo "| target | measured | |"
  echo "| --- | ---: | --- |"
  if [ -s "$RESULTS/hook.txt" ]; then
    f=$(line floor "$RESULTS/hook.txt")
    hl=$(line "hook-$LARGEST" "$RESULTS/hook.txt")
    hf=$(line "hook-${SIZES%% *}" "$RESULTS/hook.txt")
    r=$(ratio "$(field "$hl" median_us)" "$(field "$f" median_us)")
    c=$(ratio "$(field "$hl" cpu_median_us)" "$(field "$f" cpu_median_us)")
    echo "| hook median <= 1.3x floor at $LARGEST images | $r x wall ($c x CPU) | $(pass "$r" 1.3) |"
    r=$(ratio "$(field "$hl" p99_us)" "$(field "$f" p99_us)")
    echo "| hook p99 <= 1.5x floor p99 at $LARGEST images | $r x wall | $(pass "$r" 1.5) |"
    r=$(ratio "$(field "$hl" median_us)" "$(field "$hf" median_us)")
    c=$(ratio "$(field "$hl" cpu_median_us)" "$(field "$hf" cpu_median_us)")
    echo "| hook at $LARGEST images <= 1.2x at ${SIZES%% *} | $r x wall ($c x CPU) | $(pass "$r" 1.2) |"
    local hm he
    hm=$(line "metrics-$LARGEST" "$RESULTS/hook.txt")
    he=$(line "every-$LARGEST" "$RESULTS/hook.txt")
    if [ -n "$hm" ]; then
      r=$(ratio "$(field "$hm" median_us)" "$(field "$f" median_us)")
      c=$(ratio "$(field "$hm" cpu_median_us)" "$(field "$f" cpu_median_us)")
      echo "| hook with metrics on (default interval), median <= 1.3x floor at $LARGEST images | $r x wall ($c x CPU) | $(pass "$r" 1.3) |"
      r=$(ratio "$(field "$hm" median_us)" "$(field "$hl" median_us)")
      c=$(ratio "$(field "$hm" cpu_median_us)" "$(field "$hl" cpu_median_us)")
      echo "| hook with metrics on / off (median, same run; no target of its own) | $r x wall ($c x CPU) | |"
    fi
    if [ -n "$he" ]; then
      r=$(ratio "$(field "$he" median_us)" "$(field "$hl" median_us)")
      c=$(ratio "$(field "$he" cpu_median_us)" "$(field "$hl" cpu_median_us)")
      echo "| hook publishing after every decision / metrics off (same run; no target of its own) | $r x wall ($c x CPU) | |"
    fi
    local maxkb=0
    for n in $SIZES; do
      k=$(field "$(line "hook-$n" "$RESULTS/hook.txt")" maxrss_kb)
      [ "$k" -gt "$maxkb" ] && maxkb=$k
    done
    echo "| hook max RSS <= 3 MiB at every size | $(mib "$maxkb") MiB | $(pass "$maxkb" 3072) |"
  fi
  if [ -s "$RESULTS/cpucold.txt" ]; then
    r=$(ratio "$(field "$(line "cpucold-$LARGEST" "$RESULTS/cpucold.txt")" median_us)" "$(field "$(line floor "$RESULTS/cpucold.txt")" median_us)")
    echo "| hook / floor with the CPU's caches evicted before each run (no target of its own) | $r x wall | |"
  fi
  if [ -s "$RESULTS/cold.txt" ]; then
    local cl cfl
    cl=$(line "cold-$LARGEST" "$RESULTS/cold.txt")
    cfl=$(grep -B1 "^cold-$LARGEST " "$RESULTS/cold.txt" | grep '^floor ')
    if [ -n "$cl" ] && [ -n "$cfl" ]; then
      r=$(ratio "$(field "$cl" median_us)" "$(field "$cfl" median_us)")
      echo "| cold page cache, median <= 2x floor at $LARGEST images | $r x wall | $(pass "$r" 2) |"
    fi
  fi
  if [ -s "$RESULTS/runc.txt" ]; then
    p=$(line runc-plain "$RESULTS/runc.txt")
    k=$(line runc-hook "$RESULTS/runc.txt")
    r=$(awk -v a="$(field "$k" median_us)" -v b="$(field "$p" median_us)" 'BEGIN { printf "%.1f", (a / b - 1) * 100 }')
    c=$(awk -v a="$(field "$k" cpu_median_us)" -v b="$(field "$p" cpu_median_us)" 'BEGIN { printf "%.1f", (a / b - 1) * 100 }')
    echo "| runc start overhead, patchgate-hook vs no hook (no target of its own) | $r % wall ($c % CPU) | |"
    local fl
    fl=$(line runc-floorhook "$RESULTS/runc.txt")
    if [ -n "$fl" ]; then
      # Run by run (hook_timer's pair line): the median of the differences
      # and its 95% interval, over the median start without a hook.
      local pr lo hi verdict
      pr=$(grep '^pair runc-floorhook runc-hook ' "$RESULTS/runc.txt" | head -1)
      b=$(field "$p" median_us)
      r=$(share "$(field "$pr" wall_diff_median_us)" "$b")
      lo=$(share "$(field "$pr" wall_diff_lo_us)" "$b")
      hi=$(share "$(field "$pr" wall_diff_hi_us)" "$b")
      c=$(share "$(field "$pr" cpu_diff_median_us)" "$(field "$p" cpu_median_us)")
      verdict=$(within_1pct "$lo" "$hi")
      if [ -s "$RESULTS/runc-span.txt" ]; then
        echo "| patchgate over the floor as hook, whole start timed from outside (run by run: median, 95% interval; no target of its own: a start's spread is wider than 1%) | $r % wall ($lo to $hi %; $c % CPU) | |"
        # The target, from the trace: the hook's fork to runc's exit.
        pr=$(grep "^pathpair $(basename "$FLOOR") $(basename "$HOOK") " "$RESULTS/runc-span.txt")
        r=$(share "$(field "$pr" diff_median_us)" "$b" %.2f)
        lo=$(share "$(field "$pr" diff_lo_us)" "$b" %.2f)
        hi=$(share "$(field "$pr" diff_hi_us)" "$b" %.2f)
        verdict=$(within_1pct "$lo" "$hi")
        echo "| patchgate's cost over a do-nothing hook under runc <= 1% of a start (traced: the hook's fork to runc's exit, run by run: median, 95% interval) | $r % wall ($lo to $hi %) | $verdict |"
      else
        echo "| patchgate's cost over a do-nothing hook under runc <= 1% of a start (run by run: median, 95% interval) | $r % wall ($lo to $hi %; $c % CPU) | $verdict |"
      fi
    fi
  fi
  if [ -s "$RESULTS/compile.txt" ]; then
    local big="" bn=0
    for n in $SIZES; do
      [ "$n" -le 100000 ] && [ "$n" -gt "$bn" ] && bn=$n
    done
    big=$(line "compile-$bn" "$RESULTS/compile.txt")
    if [ -n "$big" ]; then
      echo "| policy set (index of every image) <= 60 s at $bn images | $(field "$big" seconds) s | $(pass "$(field "$big" seconds)" 60) |"
    fi
  fi
  if [ -s "$RESULTS/import-one.txt" ]; then
    r=$(sort -n "$RESULTS/import-one.txt" | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] / 1e6 }')
    echo "| import of one report into ${IMPORT_SIZE:-?} images <= 1 s (median) | $r s | $(pass "$r" 1) |"
  fi
  if [ -s "$RESULTS/storage.txt" ]; then
    local s0=${STORES%% *} sl=${STORES##* } hb
    hb=$(line "storage-${s0%%:*}-${s0##*:}" "$RESULTS/storage.txt")
    hl=$(line "storage-${sl%%:*}-${sl##*:}" "$RESULTS/storage.txt")
    r=$(ratio "$(field "$hl" median_us)" "$(field "$hb" median_us)")
    c=$(ratio "$(field "$hl" cpu_median_us)" "$(field "$hb" cpu_median_us)")
    echo "| hook on a podman store of ${sl%%:*} containers and ${sl##*:} images <= 1.2x on one of ${s0%%:*} | $r x wall ($c x CPU) | $(pass "$r" 1.2) |"
  fi
  if [ -s "$RESULTS/import.txt" ]; then
    im=$(line import "$RESULTS/import.txt")
    r=$(awk -v n="$IMPORT_REPORTS" -v t="$(field "$im" median_us)" 'BEGIN { printf "%.0f", n / t * 1e6 }')
    c=$(awk -v n="$IMPORT_REPORTS" -v t="$(field "$im" cpu_median_us)" 'BEGIN { printf "%.0f", n / t * 1e6 }')
    echo "| import >= 200 reports/s | $r /s wall ($c per CPU-second) | $(awk -v r="$r" 'BEGIN { print (r >= 200) ? "met" : "MISSED" }') |"
  fi
  if [ -s "$RESULTS/bundle.txt" ]; then
    r=$(awk -v b="$(field "$(cat "$RESULTS/bundle.txt")" bytes)" -v n="$IMPORT_REPORTS" 'BEGIN { printf "%.1f", b / n }')
    echo "| bundle bytes per image in transit (nginx report) <= 150 | $r B | $(pass "$r" 150) |"
  fi
  echo
}

databases() {
  local n i
  echo "## Databases"
  echo
  echo "Generated by tests/bench/gen_db.c (seed $SEED, clock $PATCHGATE_NOW) through the store API, one"
  echo "transaction per 10,000 images; kept in build/bench-data/ and reused while the parameters match."
  echo "Each image: one Trivy scan with $PACKAGES OS packages and $VULNS findings (mixed severity and fix"
  echo "state), one repository:tag out of 5 tags x 4 builds per repository; the policy has 24 scopes, 36"
  echo "floors over four distros, 25 revoked digests, 2 revoked bases, an end-of-life table and 40 waivers."
  echo
  echo "| images | file size | generation, wall | generation, CPU |"
  echo "| ---: | ---: | ---: | ---: |"
  for n in $SIZES; do
    i=$DATA/db-$n.db.info
    echo "| $n | $(awk -v b="$(stat -c %s "$DATA/db-$n.db")" 'BEGIN { printf "%.2f GB", b / 1e9 }') | $(kv "$i" seconds) s | $(c=$(kv "$i" cpu_seconds); echo "${c:-n/a} s") |"
  done
  echo
}

machine() {
  echo "## Machine"
  echo
  echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores (shared with other builds while measuring)"
  echo "- memory: $(free -h | awk '/^Mem:/ { print $2 }') ($(free -m | awk '/^Mem:/ { print $2 }') MiB)"
  echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r); SQLite $(sqlite3 --version | cut -d' ' -f1), jansson $(dpkg-query -W -f='${Version}' libjansson4 2>/dev/null)"
  echo "- load average at start: $START_LOAD; at end: $END_LOAD"
  echo "- every decision logged as on a host: to an rsyslogd (tests/lib.sh's, private) on /dev/log"
  echo
}

{
  echo "# patchgate benchmarks"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%M:%SZ) by \`make bench\` (tests/bench/run.sh; sizes: $SIZES)."
  echo "Reproduce with \`make bench\`; a quick run: \`make bench BENCH_SIZES=\"1000 10000\"\`."
  echo "All times are medians and 99th percentiles of whole processes (wall clock, spawn to reaped), each"
  echo "compared with a baseline timed in the same run, interleaved."
  echo
  machine
  targets
  report
  databases
} >"$RESULTS/report.md"

echo
cat "$RESULTS/report.md"
if [ "$OUT" != - ]; then
  {
    cat "$RESULTS/report.md"
    echo "$MARKER"
    if [ -f "$OUT" ] && grep -qF "$MARKER" "$OUT"; then
      sed "1,/^$(sed 's/[]\/$*.^[]/\\&/g' <<<"$MARKER")\$/d" "$OUT"
    else
      echo
      echo "## Notes"
      echo
      echo "(profile and optimization notes go here; run.sh keeps this part)"
    fi
  } >"$OUT.new"
  mv "$OUT.new" "$OUT"
  log "wrote $OUT"
fi
