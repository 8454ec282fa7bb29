/* patchgate: files that only root can change.
 *
 * The hook's config and the policy database decide which containers start.
 * If any other user could write either, or any directory on the way to
 * either, that user could swap in a policy that allows everything (mode
 * off) or a config that points elsewhere.  As sshd's StrictModes does, the
 * hook checks every component from / down to the file, following symlinks
 * the way the kernel would:
 *
 *   - every directory, symlink and the file itself is owned by root (or by
 *     the user the hook runs as, who could change its behaviour anyway);
 *   - the file is not writable by group or others;
 *   - the directory that holds the file is not writable by group or others,
 *     sticky or not (writers create their lock and temporary files there);
 *   - a directory further up is not writable by group or others, unless it
 *     is sticky, as /tmp is: there nobody but root may rename or remove
 *     root's entries, and the entry below it must be root's.
 *
 * ACLs and the group's membership are not looked at: a group write bit is
 * refused whoever is in the group.
 */
#ifndef PATCHGATE_TRUSTED_PATH_H
#define PATCHGATE_TRUSTED_PATH_H

#include "base/util.h"

enum
{
  /* A missing file (or directory on the way) is not an error when nobody
     but root could create it: the caller then reports it as it sees fit. */
  PG_TRUST_MAY_BE_MISSING = 1 << 0,
};

/* Check PATH (absolute, or relative to the cwd) as above; WHAT names it in
   messages ("policy database").  Returns 1 when it exists and passes, 0
   when it is missing and PG_TRUST_MAY_BE_MISSING allowed that, -1 with ERR
   naming the component and the fix otherwise.  */
int pg_check_trusted_path (const char *path, const char *what, int flags, pg_error_t *err);

#endif
