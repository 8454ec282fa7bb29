/* patchgate: the OCI state on the hook's stdin, and its bundle.  */
#ifndef PATCHGATE_STATE_H
#define PATCHGATE_STATE_H

#include "base/util.h"

#include <sys/types.h>

/* The OCI state the runtime passes on stdin.  */
struct pg_oci_state
{
  char *id;
  char *bundle;
  json_t *annotations; /* the state's: the runtime's copy of config.json's */
  /* The bundle directory as the runtime opens it (symlinks followed), so
     that an engine's record can be checked to be for this very bundle.  */
  dev_t bundle_dev;
  ino_t bundle_ino;
};
/* On failure st->id may be set (the state named its container): free ST
   with oci_state_free either way.  */
int oci_state_parse (const char *text, size_t len, const char *name, struct pg_oci_state *st,
                     pg_error_t *err);
void oci_state_free (struct pg_oci_state *st);

/* Whether ROOT/REL is this container's bundle (oci_state_is_bundle) or the
   root filesystem its config.json names (oci_state_is_rootfs, which reads
   config.json: -1 when it is missing, oversized or malformed): the same
   directory, compared by device and inode.  REL is opened below ROOT with
   no symlink on the way (its last component may be a mount point, as an
   overlay's merged directory is); ROOT is the admin's.  False (0) when
   either cannot be opened.  */
bool oci_state_is_bundle (const struct pg_oci_state *st, const char *root, const char *rel);
int oci_state_is_rootfs (const struct pg_oci_state *st, const char *root, const char *rel, pg_error_t *err);

#endif
