/* patchgate: who the image of a starting container is, and which engine
 * started it, from what that engine itself wrote (identify/resolve.c has
 * the table of engines; one file per engine beside it).
 */
#ifndef PATCHGATE_IDENTIFY_H
#define PATCHGATE_IDENTIFY_H

#include "config/hook_config.h"
#include "identify/state.h"

/* Who the image is, and which engine started the container.  */
struct pg_identity
{
  char *digest;    /* "sha256:..." or NULL when unidentified */
  char *image_ref; /* engine-reported name, or NULL */
  char *namespace;
  const char *engine;
  const char *source; /* which resolver found it, for logs */
  char *conflict;     /* two trusted sources disagreed: why */
};
int resolve_identity (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                      pg_error_t *err);
void identity_free (struct pg_identity *id);

#endif
