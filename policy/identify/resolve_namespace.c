/* The Kubernetes namespace of a container, for the policy's scopes.
 *
 * A namespace can select an audit or off scope, so it is read only where a
 * CRI implementation wrote it, after and over anything a pod author could
 * put in the spec:
 * - CRI-O sets io.kubernetes.pod.namespace on every container from the
 *   kubelet's sandbox metadata;
 * - containerd's CRI plugin sets io.kubernetes.cri.sandbox-namespace.  It
 *   never sets io.kubernetes.pod.namespace: that key in a containerd spec
 *   can only be a pod annotation passed through (pod_annotations), so it
 *   is not read.
 * Everyone else (bare runc/crun, podman, Docker) has no Kubernetes
 * namespace: an io.kubernetes.pod.namespace there was written by whoever
 * made the bundle or ran `podman/docker run --annotation`, and is ignored.
 * docs/security.md has the whole trust model.
 */
#include "identify/engines.h"
#include "base/json.h"

#include <string.h>

char *
resolve_trusted_namespace (const struct pg_oci_state *st, const struct pg_identity *id)
{
  const char *key = NULL, *ns;

  if (id->engine && strcmp (id->engine, "crio") == 0)
    key = "io.kubernetes.pod.namespace";
  else if (id->engine && strcmp (id->engine, "containerd") == 0)
    key = "io.kubernetes.cri.sandbox-namespace";
  ns = key ? pg_json_string (st->annotations, key) : NULL;
  return ns && *ns ? xstrdup (ns) : NULL;
}
