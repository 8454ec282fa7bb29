/* patchgate: files: bounded reads, whole writes, atomic replacement.  */
#ifndef PATCHGATE_FILE_H
#define PATCHGATE_FILE_H

#include "base/util.h"

/* Read a whole file (or fd), refusing more than MAX bytes.  The result is
   NUL-terminated; *len excludes the NUL.  */
int read_all_fd (int fd, const char *name, size_t max, char **out, size_t *len, pg_error_t *err);
int read_all_file (const char *path, size_t max, char **out, size_t *len, pg_error_t *err);

/* Write all of BUF, retrying short writes and EINTR.  The raw form sets
   errno and allocates nothing, so a signal handler may call it.  */
int pg_write_all_raw (int fd, const void *buf, size_t len);
int pg_write_all (int fd, const void *buf, size_t len, const char *name, pg_error_t *err);
/* fsync the directory that holds PATH, after a rename into it.  */
int pg_fsync_parent (const char *path, pg_error_t *err);
/* Write DATA to PATH through a temp file beside it, fsync and rename.  The
   new file is mode 0644, owned by the caller.  */
int pg_write_file_atomic (const char *path, const void *data, size_t len, pg_error_t *err);
/* The same, replacing a file that another program owns (a bundle's
   config.json): the new file takes LIKE's permission bits and owner, so
   that the rename changes nothing but the content.  */
struct stat;
int pg_write_file_atomic_like (const char *path, const void *data, size_t len, const struct stat *like,
                               pg_error_t *err);
/* mkdir the directory of PATH (one level, mode 0700: the policy database's
   directory is root's alone) when it is missing.  */
int pg_ensure_parent_dir (const char *path, pg_error_t *err);
/* A temp file "<dir of PATH>/.<base of PATH>.XXXXXX"; *tmp is malloc'd.  */
int pg_mkstemp_beside (const char *path, char **tmp, int *fd, pg_error_t *err);
/* For cleanup attributes: unlink *p when it is not NULL, then free it.  */
void pg_unlink_freep (char **p);
#define cleanup_unlink __attribute__ ((cleanup (pg_unlink_freep)))
/* Copy what is left of IN to OUT by read and write; NAME names OUT in
   messages.  */
int pg_copy_fd (int in, int out, const char *name, pg_error_t *err);

#endif
