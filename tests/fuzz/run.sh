#!/bin/bash
# Runs libFuzzer harnesses: tests/fuzz/run.sh BIN... with FUZZ_TIME seconds
# each (default 60), FUZZ_JOBS at a time (default 2).  Each starts from its
# seed corpus tests/fuzz/corpus/NAME (never written) plus
# build/fuzz/corpus/NAME (new inputs), logs to build/fuzz/logs/NAME.log and
# leaves crashing inputs in build/fuzz/artifacts/ (FUZZ_OUT moves all three
# from build/fuzz).  Prints one line per
# harness (executions, coverage, features, exit) and fails if any crashed.
set -u
cd "$(dirname "$0")/../.."
FUZZ_TIME=${FUZZ_TIME:-60}
FUZZ_JOBS=${FUZZ_JOBS:-2}
out=${FUZZ_OUT:-build/fuzz}
mkdir -p "$out/logs" "$out/artifacts" "$out/corpus"

one() {
  local bin=$1 name rc
  name=$(basename "$bin")
  mkdir -p "$out/corpus/$name" "tests/fuzz/corpus/$name"
  "$bin" -max_total_time="$FUZZ_TIME" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/artifacts/$name-" "$out/corpus/$name" "tests/fuzz/corpus/$name" \
    >"$out/logs/$name.log" 2>&1
  rc=$?
  local done execs cov ft
  done=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$out/logs/$name.log" | tail -n 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$name.log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done")
  echo "$name: executions=${execs:-?} cov=${cov:-?} ft=${ft:-?} exit=$rc"
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|==[0-9]+==' "$out/logs/$name.log" | head -n 20 | sed 's/^/  | /'
  fi
  return "$rc"
}
export -f one
export out FUZZ_TIME

[ $# -gt 0 ] || { echo "usage: $0 BIN..." >&2; exit 2; }
printf '%s\n' "$@" | xargs -P "$FUZZ_JOBS" -I{} bash -c 'one "$1"' _ {} >"$out/summary.txt"
rc=$?
sort "$out/summary.txt"
if [ $rc -ne 0 ]; then
  echo "fuzz: a harness failed (crash, leak or timeout): see $out/logs/ and $out/artifacts/" >&2
  exit 1
fi
