/* patchgate: opening files below a directory the hook does not own.
 *
 * The bundle (config.json, umoci.json) is written by whoever made it, the
 * engines' metadata directories by the engine, a container's rootfs by the
 * image author.  A symlink planted there must never make the hook, which
 * runs as root in the host's namespaces, read a host file instead.  Every
 * such open goes through pg_safe_openat: openat2(2) with RESOLVE_* flags,
 * or, on kernels without openat2 (before 5.6, or a seccomp profile that
 * refuses it), a walk one component at a time that is stricter still.
 */
#ifndef PATCHGATE_SAFE_OPEN_H
#define PATCHGATE_SAFE_OPEN_H

#include "base/util.h"

enum pg_resolve
{
  /* Below the directory, no symlink at all, no mount crossing, no magic
     link: for files the engine writes beside each other (bundle files,
     engine metadata), where a symlink has no business.
     openat2: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
     | RESOLVE_NO_XDEV.  */
  PG_RESOLVE_BENEATH,
  /* Inside a root (a container rootfs): absolute symlinks and ".." resolve
     as if the directory were "/", never above it; no magic link, no mount
     crossing.  openat2: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
     RESOLVE_NO_XDEV.  */
  PG_RESOLVE_IN_ROOT,
  /* No symlink and no magic link on the way, nothing above the directory,
     mounts crossed: for a path an admin named from "/" (the metrics
     textfile's directory, metrics/metrics.h), where whoever owns a
     directory on the way may rename entries but must not make the path
     lead anywhere by a link.  openat2: RESOLVE_BENEATH |
     RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS.  */
  PG_RESOLVE_NO_SYMLINKS,
};

/* openat(2) of the relative PATH below DIRFD under HOW's rules.  Returns the
   fd, or -1 with errno: ELOOP or ENOTDIR for a refused symlink, EXDEV for
   an escape or a mount crossing, ENOENT, ...  The fallback walk refuses
   every symlink and every ".." (also under PG_RESOLVE_IN_ROOT), and
   compares st_dev for mount crossings (except under
   PG_RESOLVE_NO_SYMLINKS).  FLAGS must not create.  */
int pg_safe_openat (int dirfd, const char *path, int flags, enum pg_resolve how);

/* Read the regular file PATH below DIRFD, at most MAX bytes (NUL-terminated,
   *LEN without it).  NAME is used in messages.  Returns 1 when read, 0 when
   it or a directory on the way does not exist (ENOENT), <0 with
   ERR on anything else: a refused symlink, not a regular file (a FIFO is
   never waited on: it is opened non-blocking and refused), too large.  */
int pg_safe_read_file (int dirfd, const char *path, enum pg_resolve how, size_t max, const char *name,
                       char **out, size_t *len, pg_error_t *err);

/* pg_safe_read_file's open and checks, the file then mapped read-only
   (MAP_PRIVATE) instead of read: for large files of which little is used.
   *OUT is NULL for an empty file.  Only for files their writer replaces by
   rename and never rewrites in place: a truncation under the mapping would
   kill the process (SIGBUS) when it reads there.  Release with
   pg_safe_unmap (*OUT, *LEN).  */
int pg_safe_map_file (int dirfd, const char *path, enum pg_resolve how, size_t max, const char *name,
                      const char **out, size_t *len, pg_error_t *err);
void pg_safe_unmap (const char *map, size_t len);

/* For the unit tests: force (true) or stop forcing the fallback walk.  */
/* False once openat2(2) was refused (ENOSYS, EPERM) and the fallback walk
   serves every open: tests use it to know which path they exercised.  */
bool pg_safe_open_has_openat2 (void);
void pg_safe_open_force_fallback (bool force);

#endif
