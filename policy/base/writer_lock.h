/* patchgate: the writer lock of the policy database, and the temporary
 * files its writers make beside it.
 *
 * Every change to the database (store_edit_begin/commit, a bundle's
 * activation) and every compile of the index beside it happens under one
 * exclusive lock, flock on "<path>.lock", so that writers take turns: a
 * second one waits (up to PG_WRITER_LOCK_WAIT_MS).  The lock file is 0600
 * in the database's directory (created 0700 when missing), so no other
 * user can hold it.  The database itself is changed in place by SQLite's
 * own transactions (store/store.h); the lock only orders patchgate's
 * writers, and keeps the database and its index changing together.
 *
 * A writer's temporary files beside the database (a bundle's payload
 * before it is copied in) are named ".<base>.new.XXXXXX": whatever carries
 * that prefix when the lock is taken was left by a killed writer, and is
 * removed.
 */
#ifndef PATCHGATE_WRITER_LOCK_H
#define PATCHGATE_WRITER_LOCK_H

#include "base/util.h"

/* How long a writer waits for another one before giving up.  */
#define PG_WRITER_LOCK_WAIT_MS (10 * 60 * 1000)

/* Take the writer lock of PATH (creating its directory 0700 when missing),
   waiting up to PG_WRITER_LOCK_WAIT_MS; *FD holds it.  On error *FD is -1
   and nothing is held.  */
int pg_writer_lock (const char *path, int *fd, pg_error_t *err);
/* Release it (*FD -1: nothing).  */
void pg_writer_unlock (int *fd);

/* Under the lock: remove the temporary files of PATH's killed writers,
   and what SQLite left beside them.  */
void pg_writer_sweep (const char *path);

#endif
