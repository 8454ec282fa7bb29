#!/usr/bin/env bats
# What the hook trusts on the host, and what it does not:
# - nothing inherited from the runtime's environment sets its clock or picks
#   its config (PATCHGATE_NOW only under the config's test-only test_clock);
# - a database, its directories or a hook config that anyone but root could
#   change is refused, whatever on_error says;
# - a writer killed mid-write never stops the hook nor `patchgate status`,
#   leaves the committed data and lets the next writer in, and a reader's
#   lock never stops a writer.
# Everything runs under real runc or as the runtime would run the hook, with
# a private rsyslogd; mounts stay in this file's private mount namespace.

load helpers

setup_file() {
  export PG_RUNTIME=runc
  pg_require runc python3 setpriv || return 1
  pg_setup_file syslog || return 1
}

teardown_file() {
  pg_teardown_file
}

setup() {
  pg_setup
  # The tests here decide by the real clock unless they say otherwise: the
  # test image's scans are relative to PG_NOW, which is at most two hours
  # ahead, so "12 days ago" is stale and "1 day ago" fresh either way.
  pg_hook_config "$PG_DB" 'del(.test_clock)' >"$PG_HOOK_CONFIG"
}

teardown() {
  if [ -s "$BATS_TEST_TMPDIR/reader-dir" ]; then
    rm -rf "$(cat "$BATS_TEST_TMPDIR/reader-dir")"
  fi
  pg_teardown
}

# with_hook BUNDLE DEFINITION-JSON : BUNDLE's createRuntime hooks are
# exactly DEFINITION (one hook entry).
with_hook() {
  jq --argjson h "$2" '.hooks = {createRuntime: [$h]}' "$1/config.json" >"$1/config.json.new" &&
    mv "$1/config.json.new" "$1/config.json"
}

# shipped_entry [CONFIG] : the hook entry of runtime-config/runc-hook-snippet.json,
# as shipped, but for the build under test and CONFIG (default
# $PG_HOOK_CONFIG); its env is kept as shipped.
shipped_entry() {
  jq -c --arg path "$PG_HOOK_BIN" --arg cfg "${1:-$PG_HOOK_CONFIG}" '.hooks.createRuntime[0]
    | .path = $path
    | .args = [.args[] | if . == "/etc/patchgate/hook.json" then $cfg else . end]' \
    "$PG_SRC/runtime-config/runc-hook-snippet.json"
}

# bare_entry [ARGS-JSON] : a hook entry with no env at all, as someone might
# write by hand: runc then gives the hook its own environment.
bare_entry() {
  jq -cn --arg path "$PG_HOOK_BIN" --argjson args "${1:-null}" --arg cfg "$PG_HOOK_CONFIG" \
    '{path: $path, args: ($args // ["patchgate-hook", "--config", $cfg]), timeout: 30}'
}

# hook STATE [CONFIG] : the hook as a runtime runs it, with only PATH in its
# environment; stdout and stderr in $output.
hook() {
  run timeout 30 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$PG_HOOK_BIN" --config "${2:-$PG_HOOK_CONFIG}" <"$1"
}

# state_of NAME [IMAGE] : a bundle of IMAGE (default 1) and its OCI state;
# prints the state's path.
state_of() {
  local b
  b=$(make_bundle "$1" "${2:-1}") || return 1
  pg_state_json "$1" "$b" >"$BATS_TEST_TMPDIR/state-$1.json"
  echo "$BATS_TEST_TMPDIR/state-$1.json"
}

# --- the clock and the config come from nothing inherited -------------------

@test "shipped: every hook definition sets its own env (no PATCHGATE_*) and passes --config" {
  local f defs
  for f in runtime-config/hooks.d/patchgate.json runtime-config/hooks.d/patchgate-prestart.json.example; do
    defs=$(jq -c '.hook' "$PG_SRC/$f")
    jq -e '(.env | type == "array" and length > 0 and all(startswith("PATCHGATE_") | not))
           and (.args | index("--config") != null)' <<<"$defs" >/dev/null ||
      pg_fail "$f: $defs" || return 1
  done
  for f in runtime-config/runc-hook-snippet.json runtime-config/containerd-base-spec.json; do
    defs=$(jq -c '.hooks.createRuntime[0]' "$PG_SRC/$f")
    jq -e '(.env | type == "array" and length > 0 and all(startswith("PATCHGATE_") | not))
           and (.args | index("--config") != null)' <<<"$defs" >/dev/null ||
      pg_fail "$f: $defs" || return 1
  done
}

@test "env: PATCHGATE_NOW in runc's environment cannot make a stale scan pass" {
  pg_db_scanned 12
  local b cid
  export PATCHGATE_NOW
  PATCHGATE_NOW=$(pg_days_ago 11)

  # The shipped definition: runc's environment never reaches the hook.
  b=$(PG_HOOK_STAGE=none make_bundle env-shipped 1)
  with_hook "$b" "$(shipped_entry)"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_matches "scanned 1[12] days ago"
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason SCAN_STALE

  # A definition without env: the variable reaches the hook, which ignores
  # it (the config does not set test_clock).
  b=$(PG_HOOK_STAGE=none make_bundle env-bare 1)
  with_hook "$b" "$(bare_entry)"
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_matches "scanned 1[12] days ago"
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason SCAN_STALE
}

@test "env: PATCHGATE_NOW=garbage under on_error allow does not allow" {
  pg_db_scanned 12
  pg_hook_config "$PG_DB" 'del(.test_clock) | .on_error = "allow"' >"$PG_HOOK_CONFIG"
  local b cid
  b=$(PG_HOOK_STAGE=none make_bundle garbage 1)
  with_hook "$b" "$(bare_entry)"
  cid=$(new_cid)
  PATCHGATE_NOW=garbage run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_matches "scanned 1[12] days ago"
  wait_decision "$cid"
  assert_log decision deny
  assert_log_reason SCAN_STALE
}

@test "env: test_clock: true lets PATCHGATE_NOW set the clock; a garbage value then refuses, even under on_error allow" {
  pg_db_scanned 12
  pg_hook_config "$PG_DB" '.test_clock = true' >"$PG_HOOK_CONFIG"
  local b cid
  # make_bundle puts PATCHGATE_NOW=$PG_NOW in the hook's own env.
  b=$(PG_NOW=$(pg_days_ago 11) make_bundle clock-ok 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container
  wait_decision "$cid"
  assert_log decision allow
  assert_log test_clock "$(pg_days_ago 11)"

  pg_hook_config "$PG_DB" '.test_clock = true | .on_error = "allow"' >"$PG_HOOK_CONFIG"
  b=$(PG_NOW=garbage make_bundle clock-garbage 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_matches "$(exit2_re)"
  assert_output_contains "PATCHGATE_NOW"
  wait_syslog "patchgate-hook(\[[0-9]+\])?: .*PATCHGATE_NOW" >/dev/null
  assert_log decision deny
  assert_log reasons POLICY_ERROR
}

@test "env: PATCHGATE_CONFIG in the runtime's environment does not pick the hook's config" {
  pg_in_private_mount_ns || pg_fail "needs a private mount namespace" || return 1
  pg_db_scanned 12
  # A config that would allow anything: mode off.
  local evil=$BATS_TEST_TMPDIR/evil b cid
  mkdir -p "$evil"
  pg_policy '.defaults.mode = "off" | .version = "evil"' >"$evil/policy.json"
  pg_make_db "$evil/policy.db" "$evil/policy.json"
  pg_hook_config "$evil/policy.db" 'del(.test_clock)' >"$evil/hook.json"

  # The default config, /etc/patchgate/hook.json, in this namespace only:
  # the stale database.
  mkdir -p "$BATS_TEST_TMPDIR/etc/upper" "$BATS_TEST_TMPDIR/etc/work"
  mount -t overlay patchgate-etc \
    -o "lowerdir=/etc,upperdir=$BATS_TEST_TMPDIR/etc/upper,workdir=$BATS_TEST_TMPDIR/etc/work" /etc
  mkdir -p /etc/patchgate
  cp "$PG_HOOK_CONFIG" /etc/patchgate/hook.json

  b=$(PG_HOOK_STAGE=none make_bundle config-env 1)
  with_hook "$b" "$(bare_entry '["patchgate-hook"]')"
  cid=$(new_cid)
  PATCHGATE_CONFIG=$evil/hook.json run rt_run "$cid" "$b"
  umount /etc
  assert_failure
  refute_output_contains hello-from-container
  assert_output_matches "scanned 1[12] days ago"
}

# --- only root may be able to change what the hook trusts ------------------

# refused_untrusted WHAT : the last hook run refused (exit 2) for an unsafe
# WHAT, logged as the usual POLICY_ERROR decision, with on_error ignored.
refused_untrusted() {
  [ "$status" -eq 2 ] || pg_fail "expected exit 2, got $status: $output" || return 1
  assert_output_contains "$1"
  assert_output_contains "patchgate: refused container"
  refute_output_contains "despite an error"
}

@test "ownership: a database directory others can write is refused, even under on_error allow" {
  local d=$BATS_TEST_TMPDIR/dbdir state cfg=$BATS_TEST_TMPDIR/allow.json
  mkdir -p "$d"
  make_trivy_report 1 "$(pg_days_ago 1)" >"$BATS_TEST_TMPDIR/r.json"
  pg_make_db "$d/policy.db" "$PG_POLICY_FILE" "$BATS_TEST_TMPDIR/r.json"
  pg_hook_config "$d/policy.db" 'del(.test_clock) | .on_error = "allow"' >"$cfg"
  state=$(state_of dbdir)
  chmod 0755 "$d"
  hook "$state" "$cfg"
  [ "$status" -eq 0 ] || pg_fail "control: exit $status: $output"

  local mode
  for mode in 0777 0775 0757 1777; do
    chmod "$mode" "$d"
    hook "$state" "$cfg"
    refused_untrusted "$d is writable by" || return 1
    wait_syslog "patchgate-hook(\[[0-9]+\])?: .*container=\"?dbdir\"? .*writable" >/dev/null
    assert_log decision deny
    assert_log reasons POLICY_ERROR
    assert_log on_error deny
  done
  chmod 0755 "$d"
}

@test "ownership: a database owned by another uid, or writable by group or others, is refused" {
  pg_db_scanned 1
  local state
  state=$(state_of dbfile)
  hook "$state"
  [ "$status" -eq 0 ] || pg_fail "control: exit $status: $output"

  chown 65534 "$PG_DB"
  hook "$state"
  refused_untrusted "$PG_DB is owned by uid 65534" || return 1
  chown 0 "$PG_DB"
  chmod 0664 "$PG_DB"
  hook "$state"
  refused_untrusted "$PG_DB is writable by" || return 1
  chmod 0646 "$PG_DB"
  hook "$state"
  refused_untrusted "$PG_DB is writable by" || return 1
  chmod 0640 "$PG_DB"
  hook "$state"
  [ "$status" -eq 0 ] || pg_fail "0640: exit $status: $output"
}

@test "ownership: a directory above the database that others can write is refused; a sticky one (/tmp) is not" {
  local a=$BATS_TEST_TMPDIR/above b state cfg=$BATS_TEST_TMPDIR/above.json
  b=$a/inner
  mkdir -p "$b"
  make_trivy_report 1 "$(pg_days_ago 1)" >"$BATS_TEST_TMPDIR/r.json"
  pg_make_db "$b/policy.db" "$PG_POLICY_FILE" "$BATS_TEST_TMPDIR/r.json"
  chmod 0755 "$b"
  pg_hook_config "$b/policy.db" 'del(.test_clock)' >"$cfg"
  state=$(state_of above)

  chmod 0777 "$a"
  hook "$state" "$cfg"
  refused_untrusted "$a is writable by" || return 1
  # Sticky, as /tmp: nobody but root may rename or remove root's entries.
  chmod 1777 "$a"
  hook "$state" "$cfg"
  [ "$status" -eq 0 ] || pg_fail "sticky: exit $status: $output"
  # ... but an entry there that is not root's is not trusted.
  chown 65534 "$b"
  hook "$state" "$cfg"
  refused_untrusted "$b is owned by uid 65534" || return 1
  chown 0 "$b"
  chmod 0755 "$a"
}

@test "ownership: a symlink on the way that another user owns is refused" {
  pg_db_scanned 1
  local l=$BATS_TEST_TMPDIR/links state cfg=$BATS_TEST_TMPDIR/links.json
  mkdir -p "$l"
  ln -s "$PG_DB" "$l/policy.db"
  # The index the hook reads sits beside the database: linked as it is.
  ln -s "${PG_DB%.db}.idx" "$l/policy.idx"
  pg_hook_config "$l/policy.db" 'del(.test_clock)' >"$cfg"
  state=$(state_of links)
  hook "$state" "$cfg"
  [ "$status" -eq 0 ] || pg_fail "root's symlink: exit $status: $output"
  chown -h 65534 "$l/policy.db"
  hook "$state" "$cfg"
  refused_untrusted "$l/policy.db is owned by uid 65534" || return 1
}

@test "ownership: a hook config that is group-writable, not root's, or in a directory others can write is refused" {
  pg_db_scanned 1
  local c=$BATS_TEST_TMPDIR/cfgdir state b cid
  mkdir -p "$c"
  pg_hook_config "$PG_DB" 'del(.test_clock) | .on_error = "allow"' >"$c/hook.json"
  state=$(state_of cfg)
  hook "$state" "$c/hook.json"
  [ "$status" -eq 0 ] || pg_fail "control: exit $status: $output"

  chmod 0664 "$c/hook.json"
  hook "$state" "$c/hook.json"
  refused_untrusted "hook config $c/hook.json: $c/hook.json is writable by" || return 1
  chmod 0644 "$c/hook.json"
  chown 65534 "$c/hook.json"
  hook "$state" "$c/hook.json"
  refused_untrusted "$c/hook.json is owned by uid 65534" || return 1
  chown 0 "$c/hook.json"
  chmod 0777 "$c"
  hook "$state" "$c/hook.json"
  refused_untrusted "$c is writable by" || return 1

  # Under runc: the container does not start, and the decision is logged.
  chmod 0755 "$c"
  chmod 0620 "$c/hook.json"
  b=$(PG_HOOK_CONFIG=$c/hook.json make_bundle cfg-runc 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_failure
  refute_output_contains hello-from-container
  assert_output_matches "$(exit2_re)"
  wait_syslog "patchgate-hook(\[[0-9]+\])?: .*hook config $c/hook.json" >/dev/null
  assert_log decision deny
  assert_log reasons POLICY_ERROR
  chmod 0644 "$c/hook.json"
}

@test "files: the CLI creates the database directory 0700 and the database 0600; writes keep an admin's mode and group, never group or world write" {
  make_trivy_report 1 "$(pg_days_ago 1)" >"$BATS_TEST_TMPDIR/r.json"
  local d1=$BATS_TEST_TMPDIR/new1 d2=$BATS_TEST_TMPDIR/new2
  "$PG_CLI" import --db "$d1/policy.db" "$BATS_TEST_TMPDIR/r.json" >/dev/null
  "$PG_CLI" policy set --db "$d2/policy.db" "$PG_POLICY_FILE" >/dev/null
  [ "$(stat -c %a "$d1")" = 700 ] || pg_fail "import made $d1 mode $(stat -c %a "$d1")"
  [ "$(stat -c %a "$d1/policy.db")" = 600 ] || pg_fail "import made the database mode $(stat -c %a "$d1/policy.db")"
  [ "$(stat -c %a "$d2")" = 700 ] || pg_fail "policy set made $d2 mode $(stat -c %a "$d2")"
  [ "$(stat -c %a "$d2/policy.db")" = 600 ] || pg_fail "policy set made the database mode $(stat -c %a "$d2/policy.db")"

  # The WAL and its shared memory, which readers need, are the database's
  # mode.
  [ "$(stat -c %a "$d1/policy.db-wal"):$(stat -c %a "$d1/policy.db-shm")" = 600:600 ] ||
    pg_fail "import made the WAL files $(stat -c %a "$d1/policy.db-wal"):$(stat -c %a "$d1/policy.db-shm")"

  # An admin lets a group read it: the next writes keep that, and give it
  # to the WAL files too.
  chmod 0750 "$d1"
  chmod 0640 "$d1/policy.db"
  chgrp 4 "$d1/policy.db"
  "$PG_CLI" policy set --db "$d1/policy.db" "$PG_POLICY_FILE" >/dev/null
  [ "$(stat -c %a:%g "$d1/policy.db")" = 640:4 ] || pg_fail "policy set: $(stat -c %a:%g "$d1/policy.db")"
  local f
  for f in "$d1/policy.db-wal" "$d1/policy.db-shm"; do
    [ "$(stat -c %a:%u:%g "$f")" = 640:0:4 ] || pg_fail "policy set: $f is $(stat -c %a:%u:%g "$f")"
  done
  # Group or world write is never kept, and the owner is root again.
  chmod 0666 "$d1/policy.db" "$d1/policy.db-wal"
  chown 65534 "$d1/policy.db" "$d1/policy.db-shm"
  "$PG_CLI" import --db "$d1/policy.db" "$BATS_TEST_TMPDIR/r.json" >/dev/null
  [ "$(stat -c %a:%u "$d1/policy.db")" = 644:0 ] || pg_fail "import: $(stat -c %a:%u "$d1/policy.db")"
  for f in "$d1/policy.db-wal" "$d1/policy.db-shm"; do
    [ "$(stat -c %a:%u "$f")" = 644:0 ] || pg_fail "import: $f is $(stat -c %a:%u "$f")"
  done
}

# --- a writer killed mid-write; a reader's lock --------------------------

# big_report FILE N [NAME] : a Trivy report of an image no test runs (its
# digests made from NAME), with N findings: enough rows that SQLite spills
# its page cache to the database file before the transaction ends.
big_report() {
  python3 - "$1" "$2" "${3:-big}" <<'EOF'
import json, sys, hashlib
path, n, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
h = lambda s: "sha256:" + hashlib.sha256(s.encode()).hexdigest()
vulns = [{
    "VulnerabilityID": "CVE-2099-%06d" % i, "PkgName": "pkg%06d" % i,
    "InstalledVersion": "1.0-%d" % i, "FixedVersion": "1.1-%d" % i, "Status": "fixed",
    "Severity": "LOW", "Title": "made up %d" % i,
} for i in range(n)]
doc = {
    "SchemaVersion": 2, "CreatedAt": "2026-01-01T00:00:00Z",
    "ArtifactName": "localhost/big:1", "ArtifactType": "container_image",
    "Metadata": {"OS": {"Family": "debian", "Name": "12.11"}, "ImageID": h(name + "-config"),
                 "DiffIDs": [h("big-layer")], "RepoTags": ["localhost/big:1"],
                 "RepoDigests": ["localhost/big@" + h(name + "-manifest")],
                 "ImageConfig": {"created": "2026-01-01T00:00:00Z", "rootfs": {"type": "layers", "diff_ids": [h("big-layer")]}}},
    "Results": [{"Target": "big (debian 12.11)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns}],
}
json.dump(doc, open(path, "w"))
EOF
}

# wait_blocked PID : until PID waits to open a FIFO nobody writes.
wait_blocked() {
  local i
  # Up to 5 minutes: under ASan the big import before the FIFO is slow.
  for i in $(seq 3000); do
    [ "$(cat "/proc/$1/wchan" 2>/dev/null)" = wait_for_partner ] && return 0
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  pg_fail "process $1 never blocked on the FIFO"
}

# decides_from_old STATE : the hook allows image 1 from the database as it
# was, and `patchgate status` reads it.
decides_from_old() {
  hook "$1"
  [ "$status" -eq 0 ] || pg_fail "the hook after the killed writer: exit $status: $output" || return 1
  run "$PG_CLI" status --db "$PG_DB"
  [ "$status" -eq 0 ] || pg_fail "status after the killed writer: exit $status: $output" || return 1
  assert_output_matches "images: +1"$'\n'
}

@test "killed writer: an import SIGKILLed inside its transaction changes nothing; the hook, runc and status still work" {
  pg_db_scanned 1
  local state before before_id before_idx fifo=$BATS_TEST_TMPDIR/block.json pid b cid
  local idx=${PG_DB%.db}.idx
  state=$(state_of killed)
  big_report "$BATS_TEST_TMPDIR/big.json" 40000
  mkfifo "$fifo"
  before=$(sha256sum <"$PG_DB")
  before_id=$(stat -c %d:%i:%s:%y "$PG_DB")
  before_idx=$(sha256sum <"$idx")
  # The importer records big.json in its transaction (in place: its pages
  # spill into the WAL), then waits to open the FIFO: killed exactly there,
  # mid-transaction.
  "$PG_CLI" import --db "$PG_DB" "$BATS_TEST_TMPDIR/big.json" "$fifo" >"$BATS_TEST_TMPDIR/import.out" 2>&1 3>&- &
  pid=$!
  wait_blocked "$pid" || return 1
  ls -la "$(dirname "$PG_DB")" >&2
  [ "$(stat -c %s "$PG_DB-wal")" -gt 1000000 ] || pg_fail "the import wrote nothing into the WAL before the kill"
  kill -KILL "$pid"
  wait "$pid" || true

  # The database file is as it was, and so is its identity: the index is
  # still the current one (not merely within index_max_lag), and the hook
  # decides from it however long nobody writes.
  [ "$(sha256sum <"$PG_DB")" = "$before" ] || pg_fail "the live database changed"
  [ "$(stat -c %d:%i:%s:%y "$PG_DB")" = "$before_id" ] || pg_fail "the database's identity changed"
  [ "$(sha256sum <"$idx")" = "$before_idx" ] || pg_fail "the index changed"
  run "$PG_CLI" index status --db "$PG_DB"
  assert_success
  assert_output_contains "unchanged since"
  pg_hook_config "$PG_DB" 'del(.test_clock) | .index_max_lag = "1s"' >"$BATS_TEST_TMPDIR/lag.json"
  sleep 1.1
  hook "$state" "$BATS_TEST_TMPDIR/lag.json"
  [ "$status" -eq 0 ] || pg_fail "the hook with index_max_lag 1s after the killed writer: exit $status: $output"
  decides_from_old "$state" || return 1
  # Readers see the committed data: no trace of the killed transaction.
  [ "$(sqlite3 "file:$PG_DB?mode=ro" 'SELECT count(*) FROM vulns WHERE vuln_id LIKE "CVE-2099-%"')" = 0 ] ||
    pg_fail "a reader sees the killed import's findings"
  b=$(make_bundle killed-runc 1)
  cid=$(new_cid)
  run rt_run "$cid" "$b"
  assert_success
  assert_output_contains hello-from-container

  # The next writer succeeds, its change is the committed data, and the
  # index is brought up to it.
  run "$PG_CLI" import --db "$PG_DB" "$BATS_TEST_TMPDIR/big.json"
  assert_success
  local left
  left=$(cd "$(dirname "$PG_DB")" && ls -A | grep -E '^\.policy\.db\.' || true)
  [ -z "$left" ] || pg_fail "left behind: $left"
  run "$PG_CLI" status --db "$PG_DB"
  assert_output_matches "images: +2"$'\n'
  [ "$(sqlite3 "file:$PG_DB?mode=ro" 'SELECT count(*) FROM vulns WHERE vuln_id LIKE "CVE-2099-%"')" = 40000 ] ||
    pg_fail "the next import's findings are not all there"
  [ "$(sqlite3 "file:$PG_DB?mode=ro" 'PRAGMA integrity_check')" = ok ] || pg_fail "integrity check failed"
  run "$PG_CLI" index status --db "$PG_DB"
  assert_success
  assert_output_contains "unchanged since"
  assert_output_matches "images: +2 "
  sleep 1.1
  hook "$state" "$BATS_TEST_TMPDIR/lag.json"
  [ "$status" -eq 0 ] || pg_fail "the hook after the next import: exit $status: $output"
}

@test "killed writer: imports and policy sets SIGKILLed at random moments never stop the hook" {
  pg_db_scanned 1
  local state i pid delay bad=0
  state=$(state_of random-kill)
  for i in $(seq 10); do
    if [ $((i % 3)) -eq 0 ]; then
      delay=0.0$((RANDOM % 5 + 1))
      "$PG_CLI" policy set --db "$PG_DB" "$PG_POLICY_FILE" >/dev/null 2>&1 3>&- &
    else
      # Each a new image: every import writes.  An import takes about
      # 0.4 s here; the kill lands anywhere in it.
      big_report "$BATS_TEST_TMPDIR/big.json" 40000 "big-$i"
      delay=0.$((RANDOM % 40 + 5))
      "$PG_CLI" import --db "$PG_DB" "$BATS_TEST_TMPDIR/big.json" >/dev/null 2>&1 3>&- &
    fi
    pid=$!
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" || true
    [ "$(sqlite3 "file:$PG_DB?mode=ro" 'PRAGMA integrity_check')" = ok ] ||
      { echo "run $i (after ${delay}s): integrity check failed" >&2; bad=$((bad + 1)); }
    hook "$state"
    [ "$status" -eq 0 ] || { echo "run $i (after ${delay}s): hook exit $status: $output" >&2; bad=$((bad + 1)); }
    run "$PG_CLI" status --db "$PG_DB"
    [ "$status" -eq 0 ] || { echo "run $i (after ${delay}s): status exit $status: $output" >&2; bad=$((bad + 1)); }
  done
  [ "$bad" -eq 0 ] || pg_fail "$bad failures"
}

@test "reader lock: another user holding a read transaction cannot make import fail" {
  # An admin who lets everyone read the database: the test's own
  # directories are root's alone, so this one lives under /tmp.
  local state d
  d=$(mktemp -d /tmp/patchgate-reader.XXXXXX)
  echo "$d" >"$BATS_TEST_TMPDIR/reader-dir"
  chmod 0755 "$d"
  PG_DB=$d/policy.db
  pg_hook_config "$PG_DB" 'del(.test_clock)' >"$PG_HOOK_CONFIG"
  pg_db_scanned 1
  # The WAL files too: a reader needs them (README, "Permissions").
  chmod 0644 "$PG_DB" "$PG_DB-wal" "$PG_DB-shm"
  state=$(state_of reader)
  setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 -c '
import sqlite3, sys, time
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM images").fetchall()
print("reading", flush=True)
time.sleep(60)' "$PG_DB" >"$BATS_TEST_TMPDIR/reader.out" 2>&1 3>&- &
  local reader=$! i
  for i in $(seq 50); do
    grep -q reading "$BATS_TEST_TMPDIR/reader.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q reading "$BATS_TEST_TMPDIR/reader.out" || pg_fail "the reader did not start: $(cat "$BATS_TEST_TMPDIR/reader.out")" || return 1

  make_trivy_report 2 "$(pg_days_ago 1)" >"$BATS_TEST_TMPDIR/r2.json"
  run timeout 20 "$PG_CLI" import --db "$PG_DB" "$BATS_TEST_TMPDIR/r2.json"
  local s1=$status o1=$output
  run timeout 20 "$PG_CLI" policy set --db "$PG_DB" "$PG_POLICY_FILE"
  local s2=$status o2=$output
  hook "$state"
  kill "$reader" 2>/dev/null
  wait "$reader" 2>/dev/null || true
  [ "$s1" -eq 0 ] || pg_fail "import while another user reads: exit $s1: $o1" || return 1
  [ "$s2" -eq 0 ] || pg_fail "policy set while another user reads: exit $s2: $o2" || return 1
  [ "$status" -eq 0 ] || pg_fail "the hook while another user reads: exit $status: $output"
}
