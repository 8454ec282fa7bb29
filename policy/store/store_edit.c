/* patchgate: changing the live policy database in place, one writer at a
   time, in one SQLite transaction (store/store.h, base/writer_lock.h).  */
#include "store/store.h"
#include "store/connection.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* What SQLite keeps beside the database in WAL mode.  */
static const char *const wal_files[] = { "-wal", "-shm" };

/* Give the open file FD (NAME, now ST) group GID and mode MODE, and to
   root when root writes it.  */
static int
settle_owner_mode (int fd, const char *name, const struct stat *st, gid_t gid, mode_t mode, pg_error_t *err)
{
  if (!S_ISREG (st->st_mode))
    return pg_make_error (err, 0, "%s: not a regular file", name);
  if (geteuid () == 0 && (st->st_uid != 0 || st->st_gid != gid) && fchown (fd, 0, gid) < 0)
    return pg_make_error (err, errno, "%s: chown", name);
  /* chown clears set-id bits; the mode is set after it in any case.  */
  if ((st->st_mode & 07777) != mode && fchmod (fd, mode) < 0)
    return pg_make_error (err, errno, "%s: chmod", name);
  return 0;
}

/* Under the lock: the database at PATH exists (created 0600 when missing)
   and is root's when root writes it, without group or world write; the
   WAL and shared memory beside it have its mode, so that whoever may read
   the database may read them (SQLite creates them so, but an admin's later
   chmod of the database is theirs too).  */
static int
prepare_file (const char *path, bool *created, pg_error_t *err)
{
  cleanup_close int fd = -1;
  struct stat st;
  mode_t mode;

  fd = open (path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0 && errno == ENOENT)
    {
      /* A WAL left beside a database that is gone must not be applied to
         a new one.  */
      for (size_t i = 0; i < sizeof (wal_files) / sizeof (wal_files[0]); i++)
        {
          cleanup_free char *p = NULL;
          xasprintf (&p, "%s%s", path, wal_files[i]);
          if (unlink (p) < 0 && errno != ENOENT)
            return pg_make_error (err, errno, "%s: unlink", p);
        }
      fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
      if (fd >= 0 && created)
        *created = true;
    }
  if (fd < 0)
    return pg_make_error (err, errno, "policy database %s", path);
  if (fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "policy database %s: stat", path);
  /* The database: root's when root writes it, its group kept, never
     group or world write.  */
  mode = st.st_mode & 0644;
  if (settle_owner_mode (fd, path, &st, st.st_gid, mode, err) < 0)
    return -1;
  for (size_t i = 0; i < sizeof (wal_files) / sizeof (wal_files[0]); i++)
    {
      cleanup_free char *p = NULL;
      cleanup_close int sfd = -1;
      struct stat ss;
      xasprintf (&p, "%s%s", path, wal_files[i]);
      sfd = open (p, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
      if (sfd < 0 && errno == ENOENT)
        continue;
      if (sfd < 0)
        return pg_make_error (err, errno, "%s", p);
      if (fstat (sfd, &ss) < 0)
        return pg_make_error (err, errno, "%s: stat", p);
      if (settle_owner_mode (sfd, p, &ss, st.st_gid, mode, err) < 0)
        return -1;
    }
  return 0;
}

/* Mark the database changed: its mtime set to now (to the nanosecond),
   later than whatever it was, so that its identity differs from the one
   any index recorded (store.h).  *WAS (may be NULL) gets the mtime it
   had.  */
static int
mark_changed (const char *path, struct timespec *was, pg_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  struct timespec t[2];
  struct stat st;

  if (fd < 0 || fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "policy database %s", path);
  if (was)
    *was = st.st_mtim;
  clock_gettime (CLOCK_REALTIME, &t[1]);
  if (t[1].tv_sec < st.st_mtim.tv_sec
      || (t[1].tv_sec == st.st_mtim.tv_sec && t[1].tv_nsec <= st.st_mtim.tv_nsec))
    {
      t[1] = st.st_mtim;
      if (++t[1].tv_nsec == 1000000000)
        {
          t[1].tv_sec++;
          t[1].tv_nsec = 0;
        }
    }
  t[0].tv_sec = 0;
  t[0].tv_nsec = UTIME_OMIT;
  if (futimens (fd, t) < 0)
    return pg_make_error (err, errno, "policy database %s: setting its mtime", path);
  return 0;
}

/* The commit that mark_changed announced did not happen (SQLite rolled
   it back; nothing was checkpointed into the file): the file is as it
   was, and so is its identity again, so that an index compiled from it
   stays current.  Best effort.  */
static void
unmark_changed (const char *path, const struct timespec *was)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  struct timespec t[2] = { { 0, UTIME_OMIT }, *was };

  if (fd >= 0)
    (void) futimens (fd, t);
}

int
store_edit_lock (const char *path, struct pg_store_edit *e, pg_error_t *err)
{
  e->store = NULL;
  e->lock_fd = -1;
  e->bytes_after = 0;
  e->created = e->committed = false;
  e->path = xstrdup (path);
  if (pg_writer_lock (path, &e->lock_fd, err) < 0)
    return -1;
  pg_writer_sweep (path);
  if (prepare_file (path, &e->created, err) < 0)
    {
      store_edit_end (e);
      return -1;
    }
  return 0;
}

int
store_edit_begin (const char *path, struct pg_store_edit *e, pg_error_t *err)
{
  if (store_edit_lock (path, e, err) < 0)
    return -1;
  if (store_open_live (path, true, &e->store, err) < 0)
    {
      store_edit_end (e);
      return -1;
    }
  return 0;
}

/* After the commit: the VACUUM asked for, the WAL checkpointed into the
   file as far as readers allow (the rest goes at the next writer's), the
   connection closed (which empties the WAL when no reader has it open),
   and the file marked changed after its last write.  */
static int
finish (struct pg_store_edit *e, pg_error_t *err)
{
  pg_store *store = e->store;

  if (store->vacuum_due)
    {
      store->vacuum_due = false;
      if (store_vacuum (store, err) < 0 || store_file_bytes (store, &e->bytes_after, err) < 0)
        return pg_error_wrap (err, "committed, but giving the space back failed");
    }
  (void) sqlite3_wal_checkpoint_v2 (store_db (store), NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  store_close (store);
  e->store = NULL;
  return mark_changed (e->path, NULL, err);
}

int
store_edit_commit (struct pg_store_edit *e, pg_error_t *err)
{
  struct timespec was;

  if (e->store == NULL)
    return pg_make_error (err, 0, "policy database %s: no change under way", e->path);
  if (e->store->depth > 0)
    return pg_make_error (err, 0, "policy database %s: a transaction is still open", e->path);
  if (sqlite3_get_autocommit (store_db (e->store)))
    return pg_make_error (err, 0, "policy database %s: the change was rolled back", e->path);
  /* Before the commit: a writer killed between its COMMIT and the next
     mark must leave an index that reads as stale (store.h).  */
  if (mark_changed (e->path, &was, err) < 0)
    return -1;
  if (store_exec_sql (e->store, "COMMIT", err) < 0)
    {
      /* Still open: not committed (store_edit_end rolls it back).  */
      if (!sqlite3_get_autocommit (store_db (e->store)))
        unmark_changed (e->path, &was);
      return -1;
    }
  e->store->edit = false;
  e->committed = true;
  return finish (e, err);
}

void
store_edit_end (struct pg_store_edit *e)
{
  /* Closing rolls back an open transaction.  */
  store_close (e->store);
  e->store = NULL;
  /* A database this writer created and never committed to is nothing:
     removed, under the lock, with what SQLite put beside it.  */
  if (e->created && !e->committed && e->lock_fd >= 0)
    {
      unlink (e->path);
      for (size_t i = 0; i < sizeof (wal_files) / sizeof (wal_files[0]); i++)
        {
          cleanup_free char *p = NULL;
          xasprintf (&p, "%s%s", e->path, wal_files[i]);
          unlink (p);
        }
    }
  e->created = e->committed = false;
  pg_writer_unlock (&e->lock_fd);
  free (e->path);
  e->path = NULL;
}
