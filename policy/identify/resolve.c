#include "identify/engines.h"

#include <string.h>

void
identity_free (struct pg_identity *id)
{
  free (id->digest);
  free (id->image_ref);
  free (id->namespace);
  free (id->conflict);
  memset (id, 0, sizeof (*id));
}

/* Engine-set sources first: what the engine itself wrote beats what an
   admin's tooling injected, and nothing a pod author writes is read.  A
   new engine is one file beside this one and one row here.  */
static const pg_resolver_fn resolvers[] = {
  resolve_crio, resolve_podman, resolve_containerd, resolve_docker, resolve_umoci, resolve_annotation_keys,
};

int
resolve_identity (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                  pg_error_t *err)
{
  int r = 0;

  memset (id, 0, sizeof (*id));
  id->engine = "runc";
  for (size_t i = 0; r == 0 && i < sizeof (resolvers) / sizeof (resolvers[0]); i++)
    r = resolvers[i](cfg, st, id, err);
  /* Only from a CRI engine's own key (identify/resolve_namespace.c).  */
  id->namespace = resolve_trusted_namespace (st, id);
  return r < 0 ? -1 : 0;
}
