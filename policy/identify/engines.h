/* patchgate: one resolver per engine (identify/resolve_*.c), chosen by
 * identify/resolve.c from the wiring.  Each reads only what its engine
 * wrote, and returns 1 when its engine's record is this container's (the
 * identity filled in; the digest stays NULL when that record names no image
 * that can be believed), 0 when the engine has nothing for this container
 * (then only ID->conflict may be set: why a record was ignored), <0 on
 * error.
 */
#ifndef PATCHGATE_ENGINES_H
#define PATCHGATE_ENGINES_H

#include "base/digest.h"
#include "identify/identify.h"

/* CRI-O: a containers/storage record of this bundle that CRI-O wrote.  */
int resolve_crio (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                  pg_error_t *err);
/* podman: a containers/storage record of this bundle.  */
int resolve_podman (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                    pg_error_t *err);
/* podman's and CRI-O's shared hooks.d: a containers/storage record of this
   bundle, CRI-O's when CRI-O wrote it, else podman's.  */
int resolve_containers_storage (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                                struct pg_identity *id, pg_error_t *err);
/* containerd: the CRI plugin's annotations, only on a CRI container.  */
int resolve_containerd (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                        struct pg_identity *id, pg_error_t *err);
/* Docker: config.v2.json, only when it is for this container's rootfs.  */
int resolve_docker (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                    pg_error_t *err);
/* A bare runtime (runc, crun): the bundle's umoci.json, then the admin's
   annotation_keys.  */
int resolve_runc (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                  pg_error_t *err);
int resolve_umoci (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                   pg_error_t *err);
int resolve_annotation_keys (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                             struct pg_identity *id, pg_error_t *err);

/* CRI-O's identity from its record in containers/storage
   (identify/resolve_crio.c), for resolve_containers_storage.  */
struct pg_storage_image;
void crio_identify (const struct pg_oci_state *st, const struct pg_storage_image *img,
                    struct pg_identity *id);

/* The Kubernetes namespace, only from the key a proven CRI engine sets
   itself (identify/resolve_namespace.c); NULL for everyone else.  */
char *resolve_trusted_namespace (const struct pg_oci_state *st, const struct pg_identity *id);

/* Keep the first reason a source was not believed, printable and bounded:
   it is logged and shown to people.  */
void identity_note_conflict (struct pg_identity *id, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
