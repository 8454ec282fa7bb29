#!/usr/bin/env bats
# The man pages (docs/man): clean under `man --warnings`, true to --help
# (every long option each program prints is in its page), the policy page's
# example a valid policy, and installed by `make install`.

load helpers
load engines

PAGES=(patchgate.8 patchgate-hook.8 patchgate-policy.5)

setup_file() {
  pg_require man groff col || return 1
  pg_skipping && return 0
  pg_require_binaries || return 1
  PG_WORK=$BATS_FILE_TMPDIR
  export PG_WORK
  pg_install_tree || return 1
}

setup() {
  pg_skipping && skip "$PG_SKIP_REASON"
  MAN_DIR=$PG_SRC/docs/man
}

# render PAGE : the page as a reader sees it at 80 columns, plain ASCII.
render() {
  LC_ALL=C MANWIDTH=80 man -l "$MAN_DIR/$1" 2>/dev/null | col -bx
}

# long_options HELP : every --option a --help text offers, one per line:
# those of its Usage lines and of its option table (lines that start with
# an option), not options of other programs quoted in prose.
long_options() {
  awk '/^Usage:/ { usage = 1 } usage && /^$/ { usage = 0 } usage || /^ *(-[A-Za-z], )?--[a-z]/' <<<"$1" |
    grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u
}

# has TEXT WORD : TEXT names WORD as a whole (--db is not --dbx).
has() {
  grep -qE -- "(^|[^A-Za-z0-9_-])$2([^A-Za-z0-9_-]|\$)" <<<"$1"
}

@test "man: every page is clean under man --warnings at 80 columns" {
  local p err
  for p in "${PAGES[@]}"; do
    [ -f "$MAN_DIR/$p" ] || pg_fail "missing $MAN_DIR/$p"
    err=$(MANWIDTH=80 man --warnings -l "$MAN_DIR/$p" 2>&1 >/dev/null)
    [ -z "$err" ] || pg_fail "man --warnings $p: $err"
  done
}

@test "man: patchgate(8) names every option of every command's --help" {
  local page c o missing=()
  page=$(render patchgate.8)
  for c in import policy check audit status vercmp bundle "bundle build" "bundle sign" "bundle verify" sync activate doctor \
    metrics; do
    # shellcheck disable=SC2086
    for o in $(long_options "$("$PG_CLI" $c --help)"); do
      has "$page" "$o" || missing+=("$c $o")
    done
  done
  for o in $(long_options "$("$PG_CLI" --help)"); do
    has "$page" "$o" || missing+=("patchgate $o")
  done
  [ ${#missing[@]} -eq 0 ] || pg_fail "not in patchgate(8): ${missing[*]}"
  # And each command is described.
  for c in import policy check audit status vercmp bundle sync activate doctor metrics; do
    grep -qE "^   $c( |$)" <<<"$page" || pg_fail "no section for $c in patchgate(8)"
  done
}

@test "man: patchgate-hook(8) names every option, engine and hook config key" {
  local page o key missing=()
  page=$(render patchgate-hook.8)
  for o in $(long_options "$("$PG_HOOK_BIN" --help)"); do
    has "$page" "$o" || missing+=("$o")
  done
  for o in crio podman containers-storage containerd docker runc PATCHGATE_CONFIG PATCHGATE_NOW; do
    has "$page" "$o" || missing+=("$o")
  done
  # Every key the hook config accepts (README's table is the list).
  for key in policy_db on_error syslog_facility annotation_keys trusted_keys max_policy_age policy_stale \
    timeout storage_conf storage_graphroot storage_runroot storage_driver docker_root runtime_path \
    runtime_engine policy_index index_max_lag scan_history test_clock metrics_textfile metrics_counters \
    metrics_interval; do
    has "$page" "$key" || missing+=("$key")
  done
  [ ${#missing[@]} -eq 0 ] || pg_fail "not in patchgate-hook(8): ${missing[*]}"
}

@test "man: patchgate-policy(5) covers every policy key, and its example is a valid policy" {
  local page key missing=() example=$BATS_TEST_TMPDIR/example.json
  page=$(render patchgate-policy.5)
  for key in version defaults mode unscanned on_unidentified max_scan_age max_image_age fixable_grace \
    superseded_grace vex_max_age scopes min_versions eol revoked digests bases waivers expires reason owner \
    reason_code namespace repository cve package; do
    has "$page" "$key" || missing+=("$key")
  done
  [ ${#missing[@]} -eq 0 ] || pg_fail "not in patchgate-policy(5): ${missing[*]}"
  sed -n '/^EXAMPLE/,/^FILES/p' <<<"$page" | sed '1d;$d' >"$example"
  jq -e . "$example" >/dev/null || pg_fail "the example is not JSON: $(cat "$example")"
  run "$PG_CLI" policy validate "$example"
  assert_success
}

@test "man: make install puts the pages under share/man, paths following PREFIX" {
  local p sec
  for p in "${PAGES[@]}"; do
    sec=${p##*.}
    [ -f "$PG_INST$PG_PREFIX/share/man/man$sec/$p" ] || pg_fail "make install did not install man$sec/$p"
    cmp -s "$MAN_DIR/$p" "$PG_INST$PG_PREFIX/share/man/man$sec/$p" ||
      [ "$PG_PREFIX" != /usr/local ] || pg_fail "installed $p differs under the default PREFIX"
  done
  # Another PREFIX rewrites the paths in the pages.
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$PG_SRC" -o all install \
    DESTDIR="$BATS_TEST_TMPDIR/inst" PREFIX=/opt/pg BUILD="$PG_BUILD" >/dev/null 2>&1
  grep -q '/opt/pg/libexec/oci/hooks.d/patchgate' "$BATS_TEST_TMPDIR/inst/opt/pg/share/man/man8/patchgate-hook.8" ||
    pg_fail "PREFIX=/opt/pg not applied to patchgate-hook.8"
  ! grep -q '/usr/local/' "$BATS_TEST_TMPDIR/inst/opt/pg/share/man/man8/patchgate.8" ||
    pg_fail "/usr/local left in patchgate.8 under PREFIX=/opt/pg"
}
