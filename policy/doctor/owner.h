/* patchgate: "only root can change this file": what the hook demands of
 * its config and database, and what a hook binary that runs as root for
 * every container start must be.
 */
#ifndef PATCHGATE_DOCTOR_OWNER_H
#define PATCHGATE_DOCTOR_OWNER_H

#include "base/util.h"

/* 1 when PATH passes the hook's own rule (base/trusted_path.h: root's,
   and writable by no one else, nor is any directory on the way but a
   sticky one above the file's own); 0 when not, with *WHY (malloc'd)
   naming the first component that fails; -1 with *WHY when PATH cannot be
   examined (*MISSING when it does not exist).  */
int pg_root_only (const char *path, bool *missing, char **why);

#endif
