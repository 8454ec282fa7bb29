/* patchgate: who the image of a starting container is, and which engine
 * started it, from what that engine itself wrote.  Which engine that is, is
 * a fact of the wiring (`patchgate-hook --engine NAME`, in a hook
 * definition only root writes) or proven from the engine's own record of
 * this very bundle; never read from the container (identify/resolve.c; one
 * file per engine beside it).
 */
#ifndef PATCHGATE_IDENTIFY_H
#define PATCHGATE_IDENTIFY_H

#include "config/hook_config.h"
#include "identify/state.h"

/* The engines a hook definition may name.  CONTAINERS_STORAGE serves the
   hooks.d directories that podman and CRI-O both read: CRI-O is told from
   podman by what only CRI-O writes into containers/storage.  NONE (no
   --engine) proves what it can from engines' records of this bundle and
   otherwise reads only what a bare runtime's bundle offers.  */
enum pg_engine
{
  PG_ENGINE_NONE,
  PG_ENGINE_CRIO,
  PG_ENGINE_PODMAN,
  PG_ENGINE_CONTAINERS_STORAGE,
  PG_ENGINE_CONTAINERD,
  PG_ENGINE_DOCKER,
  PG_ENGINE_RUNC,
};
/* NAME NULL is PG_ENGINE_NONE; an unknown name is an error.  */
int pg_engine_parse (const char *name, enum pg_engine *engine, pg_error_t *err);

/* Who the image is, and which engine started the container.  */
struct pg_identity
{
  char *digest;    /* "sha256:..." or NULL when unidentified */
  char *image_ref; /* the engine's (or its store's) name for the image, or NULL */
  char *namespace;
  const char *engine;
  const char *source; /* which resolver found it, for logs */
  char *conflict;     /* two trusted sources disagreed, or an engine's record is not this bundle's: why */
  bool cri;           /* a CRI engine (CRI-O, containerd's CRI plugin) is proven: its namespace key counts */
};
int resolve_identity (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                      pg_error_t *err);
void identity_free (struct pg_identity *id);

#endif
