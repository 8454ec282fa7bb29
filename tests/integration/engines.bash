# shellcheck shell=bash
# Helpers of the engine tests (engine_*.bats, runtime_wrapper.bats), on top
# of helpers.bash: the wiring as `make install` lays it out, podman with a
# private containers/storage store, and the test images loaded into it.
# Everything lives in the test file's own directory; nothing touches the
# host's engines, stores or configuration.

# pg_install_tree : `make install` into $PG_WORK/inst (DESTDIR, default
# PREFIX /usr/local) from the build under test, without rebuilding it.
# Sets PG_INST (the DESTDIR) and PG_PREFIX.
pg_install_tree() {
  PG_INST=$PG_WORK/inst
  PG_PREFIX=/usr/local
  export PG_INST PG_PREFIX
  [ -f "$PG_INST/.done" ] && return 0
  rm -rf "$PG_INST"
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$PG_SRC" -o all install DESTDIR="$PG_INST" PREFIX="$PG_PREFIX" \
    BUILD="$PG_BUILD" >"$PG_WORK/install.log" 2>&1 || {
    cat "$PG_WORK/install.log" >&2
    pg_fail "make install DESTDIR=$PG_INST failed"
    return 1
  }
  touch "$PG_INST/.done"
}

# The hook's environment in tests: the fixed clock, and the sanitizers'
# options for a sanitized build.
pg_hook_env_json() {
  local env v
  env=$(jq -cn --arg now "$PG_NOW" '["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PATCHGATE_NOW=\($now)"]')
  for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    if [ -n "${!v:-}" ]; then
      env=$(jq -c --arg e "$v=${!v}" '. + [$e]' <<<"$env")
    fi
  done
  echo "$env"
}

# pg_hook_args_jq : a jq filter on a hook's args: the value of --config
# becomes $cfg, every other argument (--engine NAME above all) stays as
# the installed wiring has it.
# shellcheck disable=SC2016
PG_HOOK_ARGS_JQ='(index("--config") // error("no --config in \(.)")) as $i | .[:$i + 1] + [$cfg] + .[$i + 2:]'

# pg_hooks_dir DIR [FILE] : an oci-hooks(5) directory DIR holding the
# installed hooks.d FILE (default share/containers/oci/hooks.d/patchgate.json),
# its hook path and config rewritten to the build under test and
# $PG_HOOK_CONFIG, with PATCHGATE_NOW in its env; its other arguments
# (--engine) as installed.
pg_hooks_dir() {
  local dir=$1 src=${2:-$PG_INST$PG_PREFIX/share/containers/oci/hooks.d/patchgate.json} want
  want=$PG_PREFIX/libexec/oci/hooks.d/patchgate-hook
  jq -e --arg p "$want" '.hook.path == $p' "$src" >/dev/null ||
    pg_fail "$src: hook.path is not $want: $(jq -c .hook "$src")" || return 1
  [ -x "$PG_INST$want" ] || pg_fail "make install did not install $want" || return 1
  mkdir -p "$dir"
  jq --arg path "$PG_HOOK_BIN" --arg cfg "$PG_HOOK_CONFIG" --argjson env "$(pg_hook_env_json)" "
      .hook.path = \$path
    | .hook.args |= ($PG_HOOK_ARGS_JQ)
    | .hook.env = \$env" "$src" >"$dir/patchgate.json"
}

# pg_wire_from_hooksd BUNDLE HOOKSD-FILE : what podman and CRI-O do with a
# hooks.d definition: its hook added to BUNDLE's config.json at its stages
# (replacing any hook there).
pg_wire_from_hooksd() {
  local b=$1 f=$2
  jq --slurpfile d "$f" '.hooks = ([$d[0].stages[] | {(.): [$d[0].hook]}] | add)' "$b/config.json" \
    >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
}

# pg_wire_runc_snippet BUNDLE : the shipped runtime-config/runc-hook-snippet.json
# merged into BUNDLE's config.json as its README says, its hook path,
# config and env rewritten as pg_hooks_dir does.
pg_wire_runc_snippet() {
  local b=$1 snippet
  snippet=$(jq --arg path "$PG_HOOK_BIN" --arg cfg "$PG_HOOK_CONFIG" --argjson env "$(pg_hook_env_json)" "
      .hooks.createRuntime[0].path = \$path
    | .hooks.createRuntime[0].args |= ($PG_HOOK_ARGS_JQ)
    | .hooks.createRuntime[0].env = \$env
    | .hooks.createRuntime[0].timeout = 30" "$PG_SRC/runtime-config/runc-hook-snippet.json") || return 1
  jq --argjson s "$snippet" '.hooks = $s.hooks' "$b/config.json" >"$b/config.json.new" &&
    mv "$b/config.json.new" "$b/config.json"
}

# --- podman and containers/storage ----------------------------------------

# pg_podman ARGS... : podman on the file's private store (vfs), cgroupfs,
# runc (which shows a hook's stderr), no network, no pulls.
pg_podman() {
  timeout 120 podman --root "$PG_STORAGE_ROOT" --runroot "$PG_STORAGE_RUNROOT" --storage-driver vfs \
    --cgroup-manager cgroupfs --runtime runc --events-backend file ${PG_PODMAN_HOOKS_DIR:+--hooks-dir "$PG_PODMAN_HOOKS_DIR"} \
    "$@"
}

# The flags of every test container.
PG_PODMAN_RUN_FLAGS=(--pull never --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# pg_storage_setup : a private containers/storage store under $PG_WORK
# (PG_STORAGE_ROOT, PG_STORAGE_RUNROOT) holding images 1 and 2 as
# $PG_REPO:1 and :2, each `podman load`ed from an OCI archive of the umoci
# layout; checks that podman gives them the layout's config digest as image
# ID and manifest digest as digest.
pg_storage_setup() {
  local tag id digest
  PG_STORAGE_ROOT=$PG_WORK/storage/root
  PG_STORAGE_RUNROOT=$PG_WORK/storage/run
  export PG_STORAGE_ROOT PG_STORAGE_RUNROOT
  mkdir -p "$PG_STORAGE_ROOT" "$PG_STORAGE_RUNROOT"
  for tag in 1 2; do
    skopeo copy -q "oci:$PG_LAYOUT:$tag" "oci-archive:$PG_WORK/image-$tag.tar:$PG_REPO:$tag" >/dev/null ||
      pg_fail "skopeo copy oci:$PG_LAYOUT:$tag oci-archive:... failed" || return 1
    pg_podman load -q -i "$PG_WORK/image-$tag.tar" >"$PG_WORK/load-$tag.log" 2>&1 || {
      cat "$PG_WORK/load-$tag.log" >&2
      pg_fail "podman load of image $tag failed"
      return 1
    }
    id=$(pg_podman image inspect --format '{{.Id}}' "$PG_REPO:$tag") ||
      pg_fail "podman has no $PG_REPO:$tag after load: $(cat "$PG_WORK/load-$tag.log")" || return 1
    digest=$(pg_podman image inspect --format '{{.Digest}}' "$PG_REPO:$tag") || return 1
    local c=PG_CONFIG_$tag m=PG_MANIFEST_$tag
    [ "sha256:$id" = "${!c}" ] || pg_fail "podman image ID $id is not the config digest ${!c}" || return 1
    [ "$digest" = "${!m}" ] || pg_fail "podman digest $digest is not the manifest digest ${!m}" || return 1
  done
}

# pg_storage_hook_config DB [JQ] : a hook.json pointing at the private store.
pg_storage_hook_config() {
  pg_hook_config "$1" "${2:-.}" | jq --arg g "$PG_STORAGE_ROOT" --arg r "$PG_STORAGE_RUNROOT" \
    --arg c "$PG_WORK/no-storage.conf" \
    '. + {storage_conf: $c, storage_graphroot: $g, storage_runroot: $r, storage_driver: "vfs"}'
}
