/* patchgate: the canary, proof rather than inference that an engine
 * enforces: an image built here (busybox-static in one layer, with
 * umoci, as the tests build theirs: no network) that carries 16 random
 * bytes, so that its digest is new on every run and no imported scan can
 * name it.  Started through an engine, patchgate must refuse it as
 * UNSCANNED (or refuse it for any reason: the line on stderr says which);
 * if it runs, that engine does not enforce (not wired, or the policy lets
 * unscanned images run, e.g. `unscanned: allow` or mode audit).
 *
 * The canary is never imported and never written to the database; the
 * engines' copies are removed afterwards.
 */
#ifndef PATCHGATE_DOCTOR_CANARY_H
#define PATCHGATE_DOCTOR_CANARY_H

#include "doctor/findings.h"

struct pg_canary
{
  char *dir;        /* a private directory under $TMPDIR: the image, bundles, runc's state */
  char *tag;        /* patchgate-canary-<random> */
  char *layout;     /* DIR/oci, the OCI layout holding TAG */
  char *archive;    /* DIR/canary.tar: that layout as an oci-archive (podman load) */
  char *rootfs_tar; /* DIR/rootfs.tar: its files (docker import) */
};

/* Needs umoci, busybox (static) and tar.  */
int pg_canary_build (struct pg_canary *c, pg_error_t *err);
/* Removes DIR.  */
void pg_canary_free (struct pg_canary *c);

/* Each starts the canary through one engine and adds a "canary" line to
   R: ok when patchgate refused it, FAIL when it ran or the outcome says
   nothing about patchgate.  */
void pg_canary_podman (struct pg_canary *c, char *const *global_args, size_t n_args,
                       const char *containers_conf, struct pg_doctor_report *r);
/* Through dockerd at HOST (NULL: the docker client's default), when it
   answers: `docker import` of the canary's files, then `docker run`.  */
void pg_canary_docker (struct pg_canary *c, const char *host, struct pg_doctor_report *r);
/* A bare RUNTIME (runc) bundle wired with SNIPPET (runc-hook-snippet.json).  */
void pg_canary_bare (struct pg_canary *c, const char *runtime, const char *snippet,
                     struct pg_doctor_report *r);

#endif
