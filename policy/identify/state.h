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

/* The state a runtime would pass for BUNDLE (ID, STATUS, PID when > 0):
   its annotations copied from the bundle's config.json, read with the
   same bounds and safe open as everything the hook reads.  For the
   programs that decide a bundle no runtime started (check --bundle) or
   one it started earlier (audit).  *OUT is compact JSON, to free.  */
int oci_state_for_bundle (const char *id, const char *bundle, const char *status, int64_t pid, char **out,
                          pg_error_t *err);

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
