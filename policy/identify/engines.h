/* patchgate: one resolver per engine (identify/resolve_*.c), for
 * identify/resolve.c's table.  Each returns 1 when it identified the image,
 * 0 when it does not apply, <0 on error.
 */
#ifndef PATCHGATE_ENGINES_H
#define PATCHGATE_ENGINES_H

#include "base/digest.h"
#include "identify/identify.h"

typedef int (*pg_resolver_fn) (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                               struct pg_identity *id, pg_error_t *err);

int resolve_crio (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                  pg_error_t *err);
int resolve_podman (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                    pg_error_t *err);
int resolve_containerd (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                        struct pg_identity *id, pg_error_t *err);
int resolve_docker (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                    pg_error_t *err);
int resolve_umoci (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                   pg_error_t *err);
int resolve_annotation_keys (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                             struct pg_identity *id, pg_error_t *err);
/* The Kubernetes namespace, only from the key the identified CRI engine
   sets itself (identify/resolve_namespace.c); NULL for everyone else.  */
char *resolve_trusted_namespace (const struct pg_oci_state *st, const struct pg_identity *id);

#endif
