/* patchgate: changing a file that readers may open at any moment.
 *
 * Writers never modify the live file in place.  A change is built in a
 * temporary file beside it (".<name>.new.XXXXXX") and renamed over it, under
 * an exclusive writer lock (flock on "<path>.lock") so that concurrent
 * writers take turns.  A writer killed at any point leaves the live file as
 * it was, and at most a temporary file that the next writer removes.
 * Readers (the hook) never lock and never need write access: whatever they
 * opened stays whole.
 *
 * Files: the directory is created 0700 when missing, a new file is 0600; a
 * replaced file keeps the live one's group and mode (an admin's 0640 for a
 * group that may read), never group or world write, and is root's when
 * root writes it.  The lock file is 0600 in that directory, so no other
 * user can hold the lock.
 */
#ifndef PATCHGATE_REPLACE_H
#define PATCHGATE_REPLACE_H

#include "base/util.h"

#include <sys/stat.h>

/* How long a writer waits for another one before giving up.  */
#define PG_WRITER_LOCK_WAIT_MS (10 * 60 * 1000)

struct pg_replace
{
  char *path;       /* the live file */
  char *tmp;        /* the temporary file beside it; NULL once renamed */
  int fd;           /* open on tmp, read-write */
  int lock_fd;      /* holds the writer lock */
  bool existed;     /* the live file existed when the lock was taken */
  struct stat live; /* and was this */
};
#define PG_REPLACE_INIT                                                                                      \
  {                                                                                                          \
    .fd = -1, .lock_fd = -1                                                                                  \
  }

/* Take the writer lock on PATH (waiting up to PG_WRITER_LOCK_WAIT_MS),
   remove what killed writers left beside it, and create the temporary
   file.  On error nothing is held.  */
int pg_replace_begin (const char *path, struct pg_replace *r, pg_error_t *err);
/* Copy the live file into the temporary one (nothing when it does not
   exist).  The copy is consistent: every writer holds the lock, and none
   changes the live file.  */
int pg_replace_copy_live (struct pg_replace *r, pg_error_t *err);
/* fsync the temporary file, give it its owner and mode (above), rename it
   over the live one and fsync the directory.  */
int pg_replace_commit (struct pg_replace *r, pg_error_t *err);
/* Remove the temporary file (and any SQLite journal of it) unless it was
   committed, release the lock, free.  Safe on PG_REPLACE_INIT and after a
   failed pg_replace_begin.  */
void pg_replace_end (struct pg_replace *r);
#define cleanup_replace __attribute__ ((cleanup (pg_replace_end)))

#endif
