/* patchgate: "only root can change this file": what the hook demands of
 * its config and database, and what a hook binary that runs as root for
 * every container start must be.
 */
#ifndef PATCHGATE_DOCTOR_OWNER_H
#define PATCHGATE_DOCTOR_OWNER_H

#include "base/util.h"

/* 1 when PATH (after symlinks) and every directory above it are owned by
   root and writable by no one else; a world-writable directory with the
   sticky bit (/tmp) passes, since no one else may replace what root owns
   in it.  0 when not, with *WHY (malloc'd) naming the first component that
   fails; -1 with *WHY when PATH cannot be examined (*MISSING when it does
   not exist).  */
int pg_root_only (const char *path, bool *missing, char **why);

#endif
