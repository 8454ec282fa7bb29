#!/usr/bin/python3
"""Checks Kubernetes manifests against what the API server would refuse,
without a cluster: the fields the API requires and the references between
objects (tests/integration/kubernetes.bats runs it).

Usage: k8s_manifests.py FILE.yaml...   (prints one line per problem; exit 1
if any, 0 when every object would be accepted).  With --dump KIND NAME
FIELD-PATH it prints one field of one object instead (for the tests).
"""
import json
import re
import sys

import yaml

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_KEY_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")

# kind -> (apiVersion, namespaced)
KINDS = {
    "Namespace": ("v1", False),
    "ConfigMap": ("v1", True),
    "Secret": ("v1", True),
    "ServiceAccount": ("v1", True),
    "DaemonSet": ("apps/v1", True),
    "Deployment": ("apps/v1", True),
    "CronJob": ("batch/v1", True),
    "Job": ("batch/v1", True),
}
HOSTPATH_TYPES = {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
                  "BlockDevice"}
VOLUME_SOURCES = {"hostPath", "configMap", "secret", "emptyDir", "projected", "downwardAPI",
                  "persistentVolumeClaim"}
CAPABILITIES = {"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
                "SETPCAP", "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP",
                "SYS_ADMIN", "SYS_PTRACE", "ALL"}


class Checker:
    def __init__(self):
        self.problems = []
        self.objects = []

    def bad(self, where, msg):
        self.problems.append("%s: %s" % (where, msg))

    def load(self, path):
        with open(path, encoding="utf-8") as f:
            for i, doc in enumerate(yaml.safe_load_all(f)):
                if doc is None:
                    continue
                self.objects.append(("%s[%d]" % (path, i), doc))

    def find(self, kind, namespace, name):
        for _, o in self.objects:
            md = o.get("metadata") or {}
            if o.get("kind") == kind and md.get("name") == name and md.get("namespace") == namespace:
                return o
        return None

    def labels(self, where, labels):
        if labels is None:
            return
        if not isinstance(labels, dict):
            self.bad(where, "labels must be a map")
            return
        for k, v in labels.items():
            name = k.split("/")[-1]
            prefix = k[: -len(name) - 1] if "/" in k else ""
            if not LABEL_KEY_NAME.match(name) or len(name) > 63 or (prefix and not DNS1123_SUBDOMAIN.match(prefix)):
                self.bad(where, "invalid label key %r" % k)
            if not isinstance(v, str) or not LABEL_VALUE.match(v) or len(v) > 63:
                self.bad(where, "invalid label value %r for %r" % (v, k))

    def check(self):
        for where, o in self.objects:
            self.check_object(where, o)
        return self.problems

    def check_object(self, where, o):
        if not isinstance(o, dict):
            self.bad(where, "not an object")
            return
        kind, api = o.get("kind"), o.get("apiVersion")
        if not kind or not api:
            self.bad(where, "apiVersion and kind are required")
            return
        if kind not in KINDS:
            self.bad(where, "kind %s is not one this checker knows" % kind)
            return
        want_api, namespaced = KINDS[kind]
        if api != want_api:
            self.bad(where, "%s is served as %s, not %s" % (kind, want_api, api))
        md = o.get("metadata") or {}
        name = md.get("name")
        where = "%s %s/%s" % (where, kind, name)
        if not isinstance(name, str) or not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
            self.bad(where, "metadata.name %r is not a DNS-1123 subdomain" % name)
        if kind in ("DaemonSet", "Deployment", "CronJob") and isinstance(name, str) and len(name) > 52:
            self.bad(where, "metadata.name longer than 52 characters")
        ns = md.get("namespace")
        if namespaced:
            if not ns:
                self.bad(where, "metadata.namespace is not set (it would land in the kubectl context's)")
            elif not self.find("Namespace", None, ns):
                self.bad(where, "namespace %s is not created by these manifests" % ns)
        elif ns:
            self.bad(where, "a %s has no namespace" % kind)
        self.labels(where + " metadata", md.get("labels"))
        getattr(self, "check_" + kind.lower(), lambda w, x: None)(where, o)

    def check_configmap(self, where, o):
        for field in ("data", "binaryData"):
            data = o.get(field) or {}
            if not isinstance(data, dict):
                self.bad(where, "%s must be a map" % field)
                continue
            for k, v in data.items():
                if not CONFIGMAP_KEY.match(k) or len(k) > 253:
                    self.bad(where, "invalid %s key %r" % (field, k))
                if not isinstance(v, str):
                    self.bad(where, "%s.%s must be a string, not %s" % (field, k, type(v).__name__))

    def check_daemonset(self, where, o):
        spec = o.get("spec") or {}
        sel = (spec.get("selector") or {}).get("matchLabels")
        tmpl = spec.get("template") or {}
        tlabels = (tmpl.get("metadata") or {}).get("labels") or {}
        if not sel:
            self.bad(where, "spec.selector.matchLabels is required")
        else:
            for k, v in sel.items():
                if tlabels.get(k) != v:
                    self.bad(where, "selector %s=%s does not match the template's labels" % (k, v))
        self.labels(where + " template", tlabels)
        us = spec.get("updateStrategy") or {}
        if us.get("type", "RollingUpdate") not in ("RollingUpdate", "OnDelete"):
            self.bad(where, "updateStrategy.type %r" % us.get("type"))
        self.check_podspec(where, o, tmpl.get("spec") or {}, "Always")

    def check_cronjob(self, where, o):
        spec = o.get("spec") or {}
        sched = spec.get("schedule")
        if not isinstance(sched, str) or not valid_cron(sched):
            self.bad(where, "spec.schedule %r is not a cron schedule" % sched)
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        pod = (job.get("template") or {}).get("spec") or {}
        self.check_podspec(where, o, pod, ("OnFailure", "Never"))

    def check_podspec(self, where, o, pod, restart):
        ns = (o.get("metadata") or {}).get("namespace")
        rp = pod.get("restartPolicy", "Always")
        if rp not in (restart if isinstance(restart, tuple) else (restart,)):
            self.bad(where, "restartPolicy %s is not allowed here" % rp)
        containers = pod.get("containers") or []
        inits = pod.get("initContainers") or []
        if not containers:
            self.bad(where, "spec.template.spec.containers is required")
        volumes = {}
        for v in pod.get("volumes") or []:
            vname = v.get("name")
            if not isinstance(vname, str) or not DNS1123_LABEL.match(vname):
                self.bad(where, "volume name %r" % vname)
            if vname in volumes:
                self.bad(where, "volume %s defined twice" % vname)
            sources = [k for k in v if k != "name"]
            if len(sources) != 1 or sources[0] not in VOLUME_SOURCES:
                self.bad(where, "volume %s must have exactly one known source, has %s" % (vname, sources))
                continue
            volumes[vname] = v
            if "hostPath" in v:
                hp = v["hostPath"] or {}
                if not str(hp.get("path", "")).startswith("/"):
                    self.bad(where, "volume %s: hostPath.path must be absolute" % vname)
                if hp.get("type", "") not in HOSTPATH_TYPES:
                    self.bad(where, "volume %s: hostPath.type %r" % (vname, hp.get("type")))
            if "configMap" in v:
                cm = self.find("ConfigMap", ns, (v["configMap"] or {}).get("name"))
                if cm is None:
                    self.bad(where, "volume %s: no ConfigMap %s" % (vname, (v["configMap"] or {}).get("name")))
                else:
                    for item in (v["configMap"] or {}).get("items") or []:
                        if item.get("key") not in (cm.get("data") or {}):
                            self.bad(where, "volume %s: ConfigMap has no key %s" % (vname, item.get("key")))
                        if not item.get("path") or str(item.get("path")).startswith("/") or ".." in str(
                                item.get("path")).split("/"):
                            self.bad(where, "volume %s: item path %r" % (vname, item.get("path")))
        used = set()
        names = set()
        for c in inits + containers:
            cname = c.get("name")
            cwhere = "%s container %s" % (where, cname)
            if not isinstance(cname, str) or not DNS1123_LABEL.match(cname):
                self.bad(cwhere, "container name %r is not a DNS-1123 label" % cname)
            if cname in names:
                self.bad(cwhere, "container name used twice")
            names.add(cname)
            if not c.get("image"):
                self.bad(cwhere, "image is required")
            if c.get("imagePullPolicy", "IfNotPresent") not in ("Always", "IfNotPresent", "Never"):
                self.bad(cwhere, "imagePullPolicy %r" % c.get("imagePullPolicy"))
            for field in ("command", "args"):
                if field in c and (not isinstance(c[field], list) or not all(isinstance(x, str) for x in c[field])):
                    self.bad(cwhere, "%s must be a list of strings" % field)
            paths = set()
            for m in c.get("volumeMounts") or []:
                if m.get("name") not in volumes:
                    self.bad(cwhere, "volumeMount %s names no volume" % m.get("name"))
                used.add(m.get("name"))
                mp = m.get("mountPath")
                if not isinstance(mp, str) or not mp.startswith("/"):
                    self.bad(cwhere, "mountPath %r must be absolute" % mp)
                if mp in paths:
                    self.bad(cwhere, "mountPath %s used twice" % mp)
                paths.add(mp)
            for e in c.get("env") or []:
                if not isinstance(e.get("name"), str) or not ENV_NAME.match(e.get("name")):
                    self.bad(cwhere, "env name %r" % e.get("name"))
                if "value" in e and "valueFrom" in e:
                    self.bad(cwhere, "env %s has both value and valueFrom" % e.get("name"))
                if "value" in e and not isinstance(e["value"], str):
                    self.bad(cwhere, "env %s value must be a string" % e.get("name"))
                ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
                if ref:
                    cm = self.find("ConfigMap", ns, ref.get("name"))
                    if cm is None or ref.get("key") not in (cm.get("data") or {}):
                        self.bad(cwhere, "env %s: no key %s in ConfigMap %s" % (e.get("name"), ref.get("key"),
                                                                             ref.get("name")))
            sc = c.get("securityContext") or {}
            for b in ("privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "runAsNonRoot"):
                if b in sc and not isinstance(sc[b], bool):
                    self.bad(cwhere, "securityContext.%s must be a boolean" % b)
            if sc.get("privileged") and sc.get("allowPrivilegeEscalation") is False:
                self.bad(cwhere, "privileged with allowPrivilegeEscalation false is refused")
            for cap in ((sc.get("capabilities") or {}).get("add") or []) + (
                    (sc.get("capabilities") or {}).get("drop") or []):
                if cap not in CAPABILITIES:
                    self.bad(cwhere, "unknown capability %r" % cap)
        for t in pod.get("tolerations") or []:
            if t.get("operator", "Equal") not in ("Equal", "Exists"):
                self.bad(where, "toleration operator %r" % t.get("operator"))
        for vname in volumes:
            if vname not in used:
                self.bad(where, "volume %s is mounted nowhere" % vname)


def valid_cron(s):
    fields = s.split()
    if len(fields) == 1 and fields[0] in ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
                                          "@hourly"):
        return True
    if len(fields) != 5:
        return False
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    for f, (lo, hi) in zip(fields, ranges):
        for part in f.split(","):
            m = re.match(r"^(\*|(\d+)(-(\d+))?)(/(\d+))?$", part)
            if not m:
                return False
            if m.group(2) is not None:
                a = int(m.group(2))
                b = int(m.group(4)) if m.group(4) else a
                if not (lo <= a <= hi and lo <= b <= hi and a <= b):
                    return False
            if m.group(6) is not None and int(m.group(6)) == 0:
                return False
    return True


def main(argv):
    if len(argv) >= 5 and argv[1] == "--dump":
        kind, name, path = argv[2], argv[3], argv[4]
        c = Checker()
        for f in argv[5:]:
            c.load(f)
        for _, o in c.objects:
            if o.get("kind") == kind and (o.get("metadata") or {}).get("name") == name:
                v = o
                for part in path.split("."):
                    v = v[int(part)] if isinstance(v, list) else v[part]
                print(v if isinstance(v, str) else json.dumps(v))
                return 0
        print("no %s %s" % (kind, name), file=sys.stderr)
        return 2
    c = Checker()
    for f in argv[1:]:
        c.load(f)
    problems = c.check()
    for p in problems:
        print(p)
    if not c.objects:
        print("no objects")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
