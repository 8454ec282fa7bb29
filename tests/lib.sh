# shellcheck shell=bash
# patchgate test library: plain bash, sourced by tests/integration/helpers.bash
# (bats) and by tests/demo.sh.  It builds a tiny OCI image (busybox-static +
# umoci), writes scanner reports for it, unpacks runtime bundles wired to
# patchgate-hook, and runs a private rsyslogd whose socket is bind-mounted on
# /dev/log.  Everything that mounts expects to run in a private mount
# namespace (`unshare -m --propagation private`); pg_in_private_mount_ns checks.
#
# Functions return non-zero on failure and print why on stderr; they never
# exit.  set -u safe.

PG_REPO=${PG_REPO:-localhost/patchgate-test}
PG_POLICY_VERSION=${PG_POLICY_VERSION:-pg-test-1}

pg_log() { echo "pg: $*" >&2; }

# --- tools ----------------------------------------------------------------

# pg_missing_cmds CMD... : prints the names of the commands that are not found.
pg_missing_cmds() {
  local c missing=()
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  echo "${missing[*]:-}"
}

# Both programs under test, by absolute path.
pg_set_binaries() {
  PG_SRC=${PATCHGATE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
  PG_BUILD=${PATCHGATE_BUILD:-$PG_SRC/build}
  PG_HOOK_BIN=$PG_BUILD/patchgate-hook
  PG_CLI=$PG_BUILD/patchgate
  export PG_SRC PG_BUILD PG_HOOK_BIN PG_CLI
}

# --- time -----------------------------------------------------------------

# pg_rfc3339 EPOCH : 2026-11-20T12:00:00Z
pg_rfc3339() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# The fixed clock of one test file: the next full hour at least one hour from
# now, so that every import (stamped with the real clock) happened before it.
# PG_NOW is what the hook gets as PATCHGATE_NOW; everything else is relative.
pg_init_clock() {
  local now
  now=$(date -u +%s)
  PG_NOW_EPOCH=$(((now / 3600 + 2) * 3600))
  PG_NOW=$(pg_rfc3339 "$PG_NOW_EPOCH")
  # The test image was built 20 days before "now".
  PG_IMAGE_CREATED=$(pg_rfc3339 $((PG_NOW_EPOCH - 20 * 86400)))
  export PG_NOW_EPOCH PG_NOW PG_IMAGE_CREATED
}

# pg_days_ago N : RFC 3339 time N days (may be fractional-free integer) before PG_NOW.
pg_days_ago() { pg_rfc3339 $((PG_NOW_EPOCH - $1 * 86400)); }

# --- the OCI image --------------------------------------------------------

# pg_build_image DIR : an OCI layout DIR/oci whose tag "1" is busybox-static
# with sh/echo/cat links, cmd /bin/sh, created $PG_IMAGE_CREATED.  Sets and
# exports PG_LAYOUT, PG_MANIFEST_1, PG_CONFIG_1.
pg_build_image() {
  local dir=$1 layout=$1/oci b=$1/build-rootfs l busybox
  busybox=$(command -v busybox) || { pg_log "busybox not found"; return 1; }
  [ -n "${PG_IMAGE_CREATED:-}" ] || pg_init_clock
  rm -rf "$layout" "$b"
  mkdir -p "$dir"
  umoci init --layout "$layout" &&
    umoci new --image "$layout:1" &&
    umoci unpack --image "$layout:1" "$b" >/dev/null || {
    pg_log "umoci could not create the base image"
    return 1
  }
  mkdir -p "$b/rootfs/bin" "$b/rootfs/etc" "$b/rootfs/tmp"
  cp "$busybox" "$b/rootfs/bin/busybox" || return 1
  for l in sh echo cat ls sleep; do
    ln -sf busybox "$b/rootfs/bin/$l"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$b/rootfs/etc/passwd"
  umoci repack --image "$layout:1" "$b" &&
    umoci config --image "$layout:1" --config.cmd /bin/sh \
      --created "$PG_IMAGE_CREATED" --author patchgate-tests \
      --history.created "$PG_IMAGE_CREATED" --history.created_by "patchgate tests" || {
    pg_log "umoci could not repack/configure the image"
    return 1
  }
  rm -rf "$b"
  PG_LAYOUT=$layout
  PG_MANIFEST_1=$(pg_manifest_digest 1) || return 1
  PG_CONFIG_1=$(pg_config_digest 1) || return 1
  export PG_LAYOUT PG_MANIFEST_1 PG_CONFIG_1
}

# pg_make_variant_image TAG [CONTENT] : a second, different image (tag 1 plus
# a file /etc/variant), written as TAG in the same layout.  Sets and exports
# PG_MANIFEST_<TAG> and PG_CONFIG_<TAG> (TAG must be a valid name suffix).
pg_make_variant_image() {
  local tag=$1 content=${2:-variant $1} b
  b=$(dirname "$PG_LAYOUT")/variant-$tag
  rm -rf "$b"
  umoci unpack --image "$PG_LAYOUT:1" "$b" >/dev/null || return 1
  printf '%s\n' "$content" >"$b/rootfs/etc/variant"
  umoci repack --image "$PG_LAYOUT:$tag" "$b" || return 1
  rm -rf "$b"
  local m c
  m=$(pg_manifest_digest "$tag") || return 1
  c=$(pg_config_digest "$tag") || return 1
  printf -v "PG_MANIFEST_$tag" '%s' "$m"
  printf -v "PG_CONFIG_$tag" '%s' "$c"
  export "PG_MANIFEST_$tag" "PG_CONFIG_$tag"
}

# pg_blob DIGEST : path of a blob in PG_LAYOUT.
pg_blob() { echo "$PG_LAYOUT/blobs/${1%%:*}/${1#*:}"; }

# pg_manifest_digest TAG : the manifest digest index.json gives for TAG.
pg_manifest_digest() {
  local d
  d=$(jq -er --arg t "$1" \
    '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)] | last | .digest' \
    "$PG_LAYOUT/index.json") || {
    pg_log "no tag $1 in $PG_LAYOUT/index.json"
    return 1
  }
  echo "$d"
}

# pg_config_digest TAG : the config digest named by TAG's manifest.
pg_config_digest() {
  local m
  m=$(pg_manifest_digest "$1") || return 1
  jq -er '.config.digest' "$(pg_blob "$m")"
}

# --- scanner reports ------------------------------------------------------

# make_trivy_report TAG CREATED_AT [VULN...] : prints a Trivy SchemaVersion 2
# JSON report (modelled on a real one, nginx-debian12.json) for image TAG of
# PG_LAYOUT, scanned at CREATED_AT.  Each VULN is "ID|PKG|INSTALLED|FIXED|SEVERITY"
# (FIXED empty: no fix yet, Status "affected"; else Status "fixed").
make_trivy_report() {
  local tag=$1 created_at=$2 manifest config cfgblob v vulns='[]'
  shift 2
  manifest=$(pg_manifest_digest "$tag") || return 1
  config=$(pg_config_digest "$tag") || return 1
  cfgblob=$(pg_blob "$config")
  for v in "$@"; do
    local id pkg inst fixed sev
    IFS='|' read -r id pkg inst fixed sev <<<"$v"
    vulns=$(jq -c --arg id "$id" --arg pkg "$pkg" --arg inst "$inst" \
      --arg fixed "$fixed" --arg sev "${sev:-HIGH}" \
      --arg diffid "$(jq -r '.rootfs.diff_ids[0]' "$cfgblob")" \
      '. + [{
          VulnerabilityID: $id,
          PkgID: "\($pkg)@\($inst)",
          PkgName: $pkg,
          PkgIdentifier: {PURL: "pkg:deb/debian/\($pkg)@\($inst | @uri)?arch=amd64&distro=debian-12.11"},
          InstalledVersion: $inst
        }
        + (if $fixed != "" then {FixedVersion: $fixed, Status: "fixed"} else {Status: "affected"} end)
        + {
          Layer: {DiffID: $diffid},
          SeveritySource: "debian",
          PrimaryURL: "https://avd.aquasec.com/nvd/\($id | ascii_downcase)",
          DataSource: {ID: "debian", Name: "Debian Security Tracker",
                       URL: "https://salsa.debian.org/security-tracker-team/security-tracker"},
          Title: "\($pkg): test vulnerability \($id)",
          Description: "A vulnerability made up by the patchgate tests.",
          Severity: $sev,
          PublishedDate: "2025-01-01T00:00:00Z",
          LastModifiedDate: "2025-01-02T00:00:00Z"
        }]' <<<"$vulns") || return 1
  done
  jq -n --arg created_at "$created_at" --arg repo "$PG_REPO" --arg tag "$tag" \
    --arg manifest "$manifest" --arg config "$config" --argjson vulns "$vulns" \
    --slurpfile cfg "$cfgblob" '
    ($cfg[0]) as $c |
    "\($repo):\($tag)" as $ref |
    {
      SchemaVersion: 2,
      CreatedAt: $created_at,
      ArtifactName: $ref,
      ArtifactType: "container_image",
      Metadata: {
        Size: 2097152,
        OS: {Family: "debian", Name: "12.11"},
        ImageID: $config,
        DiffIDs: $c.rootfs.diff_ids,
        RepoTags: [$ref],
        RepoDigests: ["\($repo)@\($manifest)"],
        ImageConfig: {
          architecture: $c.architecture,
          created: $c.created,
          history: $c.history,
          os: $c.os,
          rootfs: $c.rootfs,
          config: ($c.config // {})
        }
      },
      Results: [
        {Target: "\($ref) (debian 12.11)", Class: "os-pkgs", Type: "debian"}
        + (if ($vulns | length) > 0 then {Vulnerabilities: $vulns} else {} end)
      ]
    }'
}

# --- policy and hook configuration ----------------------------------------

# pg_policy [JQ-FILTER] : prints the test policy (enforce, unscanned deny,
# max_scan_age 7d, max_image_age 3650d), edited by JQ-FILTER.
pg_policy() {
  jq -n --arg v "$PG_POLICY_VERSION" '{
    version: $v,
    defaults: {
      mode: "enforce",
      unscanned: "deny",
      on_unidentified: "deny",
      max_scan_age: "7d",
      max_image_age: "3650d"
    },
    scopes: []
  }' | jq "${1:-.}"
}

# pg_hook_config DB [JQ-FILTER] : prints a hook.json using DB.  It sets the
# test-only test_clock, so that the hook takes PATCHGATE_NOW ($PG_NOW in
# the hook definitions make_bundle writes) as its clock; without it the
# hook ignores the variable.
pg_hook_config() {
  jq -n --arg db "$1" '{policy_db: $db, on_error: "deny", syslog_facility: "daemon", test_clock: true}' |
    jq "${2:-.}"
}

# pg_make_db DB POLICY_FILE [REPORT...] : a fresh policy database holding the
# reports and the policy, made with the patchgate CLI.
pg_make_db() {
  local db=$1 policy=$2 r
  shift 2
  rm -f "$db"
  for r in "$@"; do
    "$PG_CLI" import --db "$db" "$r" >/dev/null || {
      pg_log "patchgate import --db $db $r failed"
      return 1
    }
  done
  "$PG_CLI" policy set --db "$db" "$policy" >/dev/null || {
    pg_log "patchgate policy set --db $db $policy failed"
    return 1
  }
}

# --- bundles --------------------------------------------------------------

# make_bundle NAME IMAGE [KEY=VALUE...] : unpacks IMAGE (a tag of PG_LAYOUT,
# or LAYOUT:TAG) into ${PG_BUNDLE_DIR}/NAME with umoci (config.json and
# umoci.json), makes it print hello-from-container, adds patchgate-hook at
# stage ${PG_HOOK_STAGE:-createRuntime} ("none": no hook) with
# --config ${PG_HOOK_CONFIG} (and --engine ${PG_HOOK_ENGINE}, when set) and
# PATCHGATE_NOW=$PG_NOW, and adds the
# annotations.  For crun, hook stderr goes to NAME/hook-stderr.log
# (annotation run.oci.hooks.stderr): crun discards it otherwise.
# Prints the bundle path.
make_bundle() {
  local name=$1 image=$2 dir bundle ann='{}' kv
  shift 2
  dir=${PG_BUNDLE_DIR:-${BATS_TEST_TMPDIR:-$PG_WORK}/bundles}
  bundle=$dir/$name
  case $image in
  */*) ;;
  *) image=$PG_LAYOUT:$image ;;
  esac
  mkdir -p "$dir"
  rm -rf "$bundle"
  umoci unpack --image "$image" "$bundle" >/dev/null || {
    pg_log "umoci unpack --image $image $bundle failed"
    return 1
  }
  for kv in "$@"; do
    ann=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$ann")
  done
  if [ "${PG_RUNTIME:-runc}" = crun ]; then
    ann=$(jq -c --arg f "$bundle/hook-stderr.log" '. + {"run.oci.hooks.stderr": $f}' <<<"$ann")
  fi
  local hook env v
  # The hook gets only the environment listed here; pass the sanitizer
  # options on so that a sanitized hook reports where the tests look.
  env=$(jq -cn --arg now "$PG_NOW" '["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PATCHGATE_NOW=\($now)"]')
  for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    if [ -n "${!v:-}" ]; then
      env=$(jq -c --arg e "$v=${!v}" '. + [$e]' <<<"$env")
    fi
  done
  hook=$(jq -cn --arg path "$PG_HOOK_BIN" --arg cfg "${PG_HOOK_CONFIG:-}" --arg engine "${PG_HOOK_ENGINE:-}" \
    --argjson env "$env" '{
      path: $path,
      args: (["patchgate-hook"] + (if $cfg != "" then ["--config", $cfg] else [] end)
             + (if $engine != "" then ["--engine", $engine] else [] end)),
      env: $env,
      timeout: 30
    }')
  jq --argjson hook "$hook" --arg stage "${PG_HOOK_STAGE:-createRuntime}" --argjson ann "$ann" '
      .process.args = ["/bin/sh", "-c", "echo hello-from-container"]
    | .process.terminal = false
    | del(.linux.resources)
    | .annotations = ((.annotations // {}) + $ann)
    | if $stage == "none" then . else .hooks = {($stage): [$hook]} end
    ' "$bundle/config.json" >"$bundle/config.json.new" &&
    mv "$bundle/config.json.new" "$bundle/config.json" || return 1
  echo "$bundle"
}

# pg_state_json ID BUNDLE : the OCI state a runtime would give the hook.
pg_state_json() {
  jq -cn --arg id "$1" --arg b "$2" --slurpfile c "$2/config.json" '{
    ociVersion: "1.0.2", id: $id, status: "creating", pid: 1,
    bundle: $b, annotations: ($c[0].annotations // {})
  }'
}

# --- syslog ---------------------------------------------------------------

# pg_in_private_mount_ns : true when this shell's mount namespace was made
# below one of its ancestors (`unshare -m` in run-all.sh or demo.sh), so that
# mounts made here vanish with it and never touch the host.  PID 1's
# namespace cannot be read on every machine (it is not on this VM), so the
# test walks up the process tree; when in doubt the answer is "no".
pg_in_private_mount_ns() {
  local self p ns
  self=$(readlink /proc/$$/ns/mnt 2>/dev/null) || return 1
  [ -n "$self" ] || return 1
  p=$(awk '/^PPid:/ {print $2}' "/proc/$$/status" 2>/dev/null) || return 1
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    ns=$(readlink "/proc/$p/ns/mnt" 2>/dev/null) || ns=
    if [ -n "$ns" ] && [ "$ns" != "$self" ]; then
      return 0
    fi
    p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null) || return 1
  done
  return 1
}

# pg_private_dev DIR : make /dev writable in this mount namespace only, so
# that /dev/log can be created without touching the host's devtmpfs: an
# overlay (lower: the real /dev, upper: a tmpfs) moved onto /dev, with /dev's
# submounts (pts, shm, mqueue, ...) bound back.  The tmpfs is then detached
# (umount -l) so that nothing stays mounted under DIR.
pg_private_dev() {
  local t=$1/devov m
  pg_in_private_mount_ns || {
    pg_log "refusing to remount /dev outside a private mount namespace"
    return 1
  }
  mkdir -p "$t"
  mount -t tmpfs -o mode=0755 patchgate-dev "$t" || return 1
  mkdir -p "$t/upper" "$t/work" "$t/dev"
  if ! mount -t overlay patchgate-dev -o "lowerdir=/dev,upperdir=$t/upper,workdir=$t/work" "$t/dev"; then
    umount "$t"
    return 1
  fi
  while read -r m; do
    [ -d "$t/dev/${m#/dev/}" ] || [ -e "$t/dev/${m#/dev/}" ] || continue
    mount --rbind "$m" "$t/dev/${m#/dev/}" || {
      pg_log "could not bind $m into the private /dev"
      return 1
    }
  done < <(findmnt -rn -o TARGET | grep -E '^/dev/[^/]+$' | sort -u)
  mount --move "$t/dev" /dev || return 1
  umount -l "$t" || true
  rmdir "$t" 2>/dev/null || true
}

# pg_syslog_start DIR : a private rsyslogd (own config, pid file, work
# directory) listening on DIR/log.sock, writing every message to
# DIR/messages.log as "facility.severity tag: msg"; DIR/log.sock is
# bind-mounted on /dev/log (a private /dev is made first if /dev/log does
# not exist).  Sets and exports PG_SYSLOG_DIR, PG_SYSLOG_FILE, PG_SYSLOG_PID.
pg_syslog_start() {
  local d=$1 i
  pg_in_private_mount_ns || {
    pg_log "refusing to bind anything on /dev/log outside a private mount namespace"
    return 1
  }
  mkdir -p "$d/work"
  d=$(cd "$d" && pwd)
  PG_SYSLOG_DIR=$d
  PG_SYSLOG_FILE=$d/messages.log
  : >"$PG_SYSLOG_FILE"
  cat >"$d/rsyslog.conf" <<EOF
# patchgate tests: a private rsyslogd, nothing shared with the host's.
global(workDirectory="$d/work" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$d/log.sock" CreatePath="on" RateLimit.Interval="0")
template(name="pgfmt" type="string"
  string="%syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\\n")
*.* action(type="omfile" file="$PG_SYSLOG_FILE" template="pgfmt")
EOF
  rsyslogd -N1 -f "$d/rsyslog.conf" >"$d/validate.log" 2>&1 || {
    cat "$d/validate.log" >&2
    pg_log "rsyslog rejected $d/rsyslog.conf"
    return 1
  }
  rm -f "$d/rsyslogd.pid" "$d/log.sock"
  # rsyslogd forks into the background; close every inherited descriptor
  # (bats waits on fd 3) so it cannot hold the test run open.
  rsyslogd -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" </dev/null >"$d/rsyslogd.out" 2>&1 3>&- || {
    cat "$d/rsyslogd.out" >&2
    pg_log "rsyslogd failed to start"
    [ -s "$d/rsyslogd.pid" ] && PG_SYSLOG_PID=$(cat "$d/rsyslogd.pid") && pg_syslog_stop
    return 1
  }
  for i in $(seq 50); do
    [ -S "$d/log.sock" ] && [ -s "$d/rsyslogd.pid" ] && break
    sleep 0.1
  done
  PG_SYSLOG_PID=$(cat "$d/rsyslogd.pid" 2>/dev/null) || PG_SYSLOG_PID=
  [ -S "$d/log.sock" ] || {
    pg_log "rsyslogd did not create $d/log.sock"
    pg_syslog_stop
    return 1
  }
  export PG_SYSLOG_DIR PG_SYSLOG_FILE PG_SYSLOG_PID
  if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then
    pg_private_dev "$d" || {
      pg_log "could not make a private /dev for /dev/log"
      pg_syslog_stop
      return 1
    }
  fi
  if [ -L /dev/log ]; then
    # e.g. systemd's /dev/log -> /run/systemd/journal/dev-log: the bind
    # lands on the target, which must exist (creating it would touch the
    # host's /run).
    local target
    target=$(readlink -f /dev/log)
    [ -e "$target" ] || {
      pg_log "/dev/log points to $target, which does not exist"
      pg_syslog_stop
      return 1
    }
  else
    if [ ! -e /dev/log ] && ! : >/dev/log; then
      pg_syslog_stop
      return 1
    fi
  fi
  mount --bind "$d/log.sock" /dev/log || {
    pg_log "could not bind $d/log.sock on /dev/log"
    pg_syslog_stop
    return 1
  }
  # Round trip: a message through /dev/log must come out in the file.
  logger -t patchgate-selftest "syslog-ready-$$" &&
    wait_syslog "syslog-ready-$$" >/dev/null || {
    pg_log "a test message sent to /dev/log never reached $PG_SYSLOG_FILE"
    pg_syslog_stop
    return 1
  }
}

# pg_syslog_stop : stops the private rsyslogd and removes the /dev/log bind.
pg_syslog_stop() {
  if [ -n "${PG_SYSLOG_PID:-}" ] && kill -0 "$PG_SYSLOG_PID" 2>/dev/null; then
    kill "$PG_SYSLOG_PID"
    local i
    for i in $(seq 30); do
      kill -0 "$PG_SYSLOG_PID" 2>/dev/null || break
      sleep 0.1
    done
  fi
  PG_SYSLOG_PID=
  if pg_in_private_mount_ns && mountpoint -q /dev/log 2>/dev/null; then
    umount /dev/log || true
  fi
}

# wait_syslog PATTERN [SECONDS] : waits (default 5 s) for a line of the
# syslog file matching the extended regex PATTERN; sets syslog_line to the
# last such line and prints it.  On timeout prints the file's tail on stderr
# and returns 1.
wait_syslog() {
  local pat=$1 limit=${2:-5} i
  syslog_line=
  for ((i = 0; i <= limit * 10; i++)); do
    if syslog_line=$(grep -E -- "$pat" "$PG_SYSLOG_FILE" 2>/dev/null | tail -n 1) &&
      [ -n "$syslog_line" ]; then
      echo "$syslog_line"
      return 0
    fi
    sleep 0.1
  done
  {
    echo "no syslog line matched: $pat (waited ${limit}s); the log ends with:"
    tail -n 20 "$PG_SYSLOG_FILE" 2>/dev/null | sed 's/^/  | /'
  } >&2
  return 1
}

# logfmt_field LINE KEY : the value of KEY in a logfmt LINE (unquoted).
logfmt_field() {
  local line=$1 key=$2 rest
  case " $line" in
  *" $key=\""*)
    rest=${line#*"$key=\""}
    echo "${rest%%\"*}"
    ;;
  *" $key="*)
    rest=" $line"
    rest=${rest#*" $key="}
    echo "${rest%% *}"
    ;;
  *) return 1 ;;
  esac
}
