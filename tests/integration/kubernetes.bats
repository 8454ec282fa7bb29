#!/usr/bin/env bats
# runtime-config/kubernetes: parsed (PyYAML) and checked against what the
# API server requires (tests/integration/k8s_manifests.py), the checker
# shown to catch each kind of mistake, and the node installer's paths
# checked against the wiring `make install` lays out.  No cluster runs here.

load helpers
load engines

setup_file() {
  pg_require /usr/bin/python3 jq || return 1
  pg_skipping && return 0
  /usr/bin/python3 -c 'import yaml' 2>/dev/null || pg_fail "python3-yaml is missing (make deps)" || return 1
  pg_require_binaries || return 1
  PG_WORK=$BATS_FILE_TMPDIR
  export PG_WORK
  pg_install_tree || return 1
}

setup() {
  pg_skipping && skip "$PG_SKIP_REASON"
  K8S=$PG_SRC/runtime-config/kubernetes
  CHECK=$PG_SRC/tests/integration/k8s_manifests.py
}

manifests() { echo "$K8S"/*.yaml; }

# field KIND NAME PATH : one field of one object, as text.
field() {
  # shellcheck disable=SC2046
  /usr/bin/python3 "$CHECK" --dump "$1" "$2" "$3" $(manifests)
}

# mutate PYTHON-EXPR : the manifests as one file with EXPR applied to each
# document `d` (a dict); prints its path.
mutate() {
  local out=$BATS_TEST_TMPDIR/mutated.yaml
  # shellcheck disable=SC2046
  /usr/bin/python3 - "$1" $(manifests) >"$out" <<'EOF'
import sys, yaml
expr = sys.argv[1]
docs = []
for f in sys.argv[2:]:
    docs += [d for d in yaml.safe_load_all(open(f)) if d]
for d in docs:
    exec(expr)
yaml.safe_dump_all([d for d in docs if d], sys.stdout)
EOF
  echo "$out"
}

# refuted EXPR MESSAGE : the mutated manifests fail the check, saying MESSAGE.
refuted() {
  local f
  f=$(mutate "$1")
  run /usr/bin/python3 "$CHECK" "$f"
  [ "$status" -eq 1 ] || pg_fail "the check passed manifests mutated by: $1"
  assert_output_contains "$2"
}

@test "kubernetes: the manifests parse and every object has what the API requires" {
  # shellcheck disable=SC2046
  run /usr/bin/python3 "$CHECK" $(manifests)
  assert_success
  [ -z "$output" ] || pg_fail "$output"
  [ "$(field DaemonSet patchgate-node kind)" = DaemonSet ]
  [ "$(field DaemonSet patchgate-node spec.template.spec.initContainers.0.securityContext.privileged)" = true ]
  [ "$(field ConfigMap patchgate-node metadata.namespace)" = patchgate-system ]
}

@test "kubernetes: the check catches each kind of mistake" {
  refuted 'd.get("kind") == "DaemonSet" and d["spec"]["template"]["metadata"]["labels"].update({"app.kubernetes.io/component": "other"})' \
    "does not match the template's labels"
  refuted 'd.get("kind") == "DaemonSet" and d["spec"]["template"]["spec"]["containers"][0].pop("image")' "image is required"
  refuted 'd.get("kind") == "DaemonSet" and d["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0].update(name="nope")' \
    "volumeMount nope names no volume"
  refuted 'd.get("kind") == "DaemonSet" and d["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["configMapKeyRef"].update(key="nope")' \
    "no key nope in ConfigMap"
  refuted 'd.get("kind") == "ConfigMap" and d["metadata"].pop("name")' "is not a DNS-1123 subdomain"
  refuted 'd.get("kind") == "DaemonSet" and d.update(apiVersion="extensions/v1beta1")' "DaemonSet is served as apps/v1"
  refuted 'd.get("kind") == "Namespace" and d["metadata"].update(name="other")' "namespace patchgate-system is not created"
  refuted 'd.get("kind") == "DaemonSet" and d["spec"]["template"]["spec"]["volumes"][0]["hostPath"].update(path="relative")' \
    "hostPath.path must be absolute"
  refuted 'd.get("kind") == "DaemonSet" and d["spec"]["template"]["spec"]["initContainers"][0].update(name="sync")' \
    "container name used twice"
  refuted 'd.get("kind") == "ConfigMap" and d["data"].update({"sync-interval": 900})' "must be a string"
  # A CronJob (the alternative to the sync container) with a bad schedule.
  refuted 'd.get("kind") == "ConfigMap" and docs.append({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "x", "namespace": "patchgate-system"}, "spec": {"schedule": "*/15 * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "sync", "image": "i"}]}}}}}})' \
    "is not a cron schedule"
}

@test "kubernetes: the ConfigMap's hook config loads as the hook loads it" {
  local cfg=$BATS_TEST_TMPDIR/hook.json
  field ConfigMap patchgate-node data.hook.json >"$cfg" 2>/dev/null ||
    /usr/bin/python3 -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap": sys.stdout.write(d["data"]["hook.json"])' "$K8S/configmap.yaml" >"$cfg"
  jq -e . "$cfg" >/dev/null
  run "$PG_CLI" doctor --engine runc --config "$cfg" --json
  jq -e '.checks[] | select(.check == "hook config" and .status == "ok")' <<<"$output" >/dev/null ||
    pg_fail "the ConfigMap's hook.json does not load: $output"
}

@test "kubernetes: the installer puts every file where the wiring names it, the wiring last" {
  local script cfg
  script=$(field DaemonSet patchgate-node spec.template.spec.initContainers.0.command.2)
  sh -n <<<"$script" || pg_fail "the installer script does not parse"
  sh -n <<<"$(field DaemonSet patchgate-node spec.template.spec.containers.0.command.2)" ||
    pg_fail "the sync loop does not parse"
  # Every file the installer copies from the image is one `make install` lays out.
  local f
  for f in libexec/oci/hooks.d/patchgate-hook bin/patchgate bin/patchgate-runtime \
    share/containers/oci/hooks.d/patchgate.json share/patchgate/containerd-base-spec.json; do
    [[ $script == *"$f"* ]] || pg_fail "the installer does not install $f"
    [ -e "$PG_INST/usr/local/$f" ] || pg_fail "make install lays out no /usr/local/$f"
  done
  # The hook it installs is the one the hooks.d file and the base spec run,
  # with the config it installs.
  [ "$(jq -r .hook.path "$PG_INST/usr/local/share/containers/oci/hooks.d/patchgate.json")" = \
    /usr/local/libexec/oci/hooks.d/patchgate-hook ]
  jq -e '.hook.args | index("--config") as $i | .[$i + 1] == "/etc/patchgate/hook.json"' \
    "$PG_INST/usr/local/share/containers/oci/hooks.d/patchgate.json" >/dev/null
  jq -e '.hooks.createRuntime[0].path == "/usr/local/libexec/oci/hooks.d/patchgate-hook"' \
    "$PG_INST/usr/local/share/patchgate/containerd-base-spec.json" >/dev/null
  [[ $script == *"/etc/patchgate/hook.json"* ]] || pg_fail "the hook config is not installed at /etc/patchgate/hook.json"
  grep -q 'base_runtime_spec = "/etc/containerd/patchgate-base-spec.json"' "$PG_INST/usr/local/share/patchgate/containerd-config.toml"
  [[ $script == *'$H/etc/containerd/patchgate-base-spec.json'* ]] || pg_fail "the base spec is not installed where containerd-config.toml names it"
  # The bundle key where hook.json's trusted_keys looks for it.
  cfg=$(/usr/bin/python3 -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap": sys.stdout.write(d["data"]["hook.json"])' "$K8S/configmap.yaml")
  [[ $script == *"$(jq -r '.trusted_keys[0]' <<<"$cfg")"* ]] || pg_fail "trusted_keys[0] is not where the key is installed"
  # The database directory is mounted at the same path in both containers.
  [ "$(jq -r .policy_db <<<"$cfg")" = /var/lib/patchgate/policy.db ]
  [ "$(field DaemonSet patchgate-node spec.template.spec.containers.0.volumeMounts.1.mountPath)" = /var/lib/patchgate ]
  # Order: binaries, config, proof that the hook runs on the node, a policy, then the wiring.
  local n_bin n_cfg n_run n_sync n_hooksd n_spec
  n_bin=$(grep -n 'patchgate-hook bin/patchgate' <<<"$script" | cut -d: -f1)
  n_cfg=$(grep -n '/config/hook.json' <<<"$script" | cut -d: -f1)
  n_run=$(grep -n 'chroot' <<<"$script" | cut -d: -f1)
  n_sync=$(grep -n '^ *patchgate sync' <<<"$script" | cut -d: -f1)
  n_hooksd=$(grep -n 'mv -f "$d/.patchgate.json.new"' <<<"$script" | cut -d: -f1)
  n_spec=$(grep -n 'mv -f "$H/etc/containerd/.patchgate-base-spec.json.new"' <<<"$script" | cut -d: -f1)
  [ -n "$n_bin" ] && [ -n "$n_cfg" ] && [ -n "$n_run" ] && [ -n "$n_sync" ] && [ -n "$n_hooksd" ] && [ -n "$n_spec" ] ||
    pg_fail "a step is missing from the installer"
  [ "$n_bin" -lt "$n_cfg" ] && [ "$n_cfg" -lt "$n_run" ] && [ "$n_run" -lt "$n_sync" ] &&
    [ "$n_sync" -lt "$n_hooksd" ] && [ "$n_sync" -lt "$n_spec" ] ||
    pg_fail "the installer wires the hook before the binaries, config and a policy are in place"
}

@test "kubernetes: make install ships the manifests" {
  local f
  for f in "$K8S"/*.yaml; do
    cmp -s "$f" "$PG_INST/usr/local/share/patchgate/kubernetes/$(basename "$f")" ||
      pg_fail "make install did not ship $(basename "$f")"
  done
}
