/* The Kubernetes namespace of a container, for the policy's scopes.
 *
 * A namespace can select an audit or off scope, so it is read only once a
 * CRI engine is proven (identify/resolve.c: by the wiring or by the
 * engine's own record of this bundle), and only from the key that engine
 * writes over anything a pod author could put in the spec:
 * - CRI-O sets io.kubernetes.pod.namespace on every container from the
 *   kubelet's labels, which it applies after the pod's annotations;
 * - containerd's CRI plugin sets io.kubernetes.cri.sandbox-namespace.  It
 *   never sets io.kubernetes.pod.namespace: that key in a containerd spec
 *   can only be a pod annotation passed through (pod_annotations), so it
 *   is not read.
 * Everyone else (bare runc/crun, podman, Docker, and CRI-O's keys in a
 * container CRI-O did not make) has no Kubernetes namespace: the key was
 * written by whoever made the bundle or ran `podman/docker run
 * --annotation`, and is ignored.  docs/security.md has the whole trust
 * model.
 */
#include "identify/engines.h"
#include "base/json.h"

#include <string.h>

char *
resolve_trusted_namespace (const struct pg_oci_state *st, const struct pg_identity *id)
{
  const char *key = NULL, *ns;

  if (!id->cri || id->engine == NULL)
    return NULL;
  if (strcmp (id->engine, "crio") == 0)
    key = "io.kubernetes.pod.namespace";
  else if (strcmp (id->engine, "containerd") == 0)
    key = "io.kubernetes.cri.sandbox-namespace";
  ns = key ? pg_json_string (st->annotations, key) : NULL;
  return ns && *ns ? xstrdup (ns) : NULL;
}
