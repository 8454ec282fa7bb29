/* A bare runtime (runc, crun, run by hand or by a tool that wires the hook
 * into config.json): whoever made the bundle is the only engine there is.
 * Its umoci.json names the manifest it was unpacked from
 * (identify/resolve_umoci.c); else an annotation key the admin configured
 * (identify/resolve_annotations.c).  No engine's store is consulted: a
 * bundle may carry any container ID, including one that podman, CRI-O or
 * Docker gave a container of their own.
 */
#include "identify/engines.h"

int
resolve_runc (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
              pg_error_t *err)
{
  int r = resolve_umoci (cfg, st, id, err);

  if (r == 0)
    r = resolve_annotation_keys (cfg, st, id, err);
  return r;
}
