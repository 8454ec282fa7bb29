/* patchgate: changing the live policy database by copy and rename
   (store/store.h, base/replace.h).  */
#include "store/store.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static bool
has_sidecar (const char *path, const char *suffix)
{
  cleanup_free char *p = NULL;
  struct stat st;
  xasprintf (&p, "%s%s", path, suffix);
  return stat (p, &st) == 0 && st.st_size > 0;
}

int
store_recover_live (const char *path, pg_error_t *err)
{
  sqlite3 *db = NULL;
  char *msg = NULL;
  int r;

  if (!has_sidecar (path, "-journal") && !has_sidecar (path, "-wal"))
    return 0;
  /* An ordinary read-write connection rolls a hot journal back (or checks
     a WAL in) on its first read, and deletes it; DELETE mode keeps the
     file whole by itself from then on.  */
  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      pg_make_error (err, 0, "policy database %s: recovering an interrupted write: %s", path,
                     db ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close_v2 (db);
      return -1;
    }
  sqlite3_busy_timeout (db, 5000);
  r = sqlite3_exec (db, "PRAGMA journal_mode = DELETE; PRAGMA user_version;", NULL, NULL, &msg);
  if (r != SQLITE_OK)
    pg_make_error (err, 0, "policy database %s: recovering an interrupted write: %s", path,
                   msg ? msg : sqlite3_errmsg (db));
  sqlite3_free (msg);
  sqlite3_close_v2 (db);
  return r == SQLITE_OK ? 0 : -1;
}

int
store_edit_begin (const char *path, struct pg_store_edit *e, pg_error_t *err)
{
  char *msg = NULL;

  e->store = NULL;
  if (pg_replace_begin (path, &e->file, err) < 0)
    return -1;
  if (store_recover_live (path, err) < 0 || pg_replace_copy_live (&e->file, err) < 0)
    goto fail;
  /* Created when the live one did not exist; migrated when older.  */
  if (store_open_named (e->file.tmp, path, PG_STORE_CREATE, &e->store, err) < 0)
    goto fail;
  /* The copy is renamed into place whole: it must need nothing beside it. */
  if (sqlite3_exec (store_db (e->store), "PRAGMA journal_mode = DELETE", NULL, NULL, &msg) != SQLITE_OK)
    {
      pg_make_error (err, 0, "policy database %s: %s", path, msg ? msg : "journal mode");
      sqlite3_free (msg);
      goto fail;
    }
  return 0;

fail:
  store_edit_end (e);
  return -1;
}

int
store_edit_commit (struct pg_store_edit *e, pg_error_t *err)
{
  if (e->store == NULL)
    return pg_make_error (err, 0, "policy database %s: no change under way", e->file.path);
  if (!sqlite3_get_autocommit (store_db (e->store)))
    return pg_make_error (err, 0, "policy database %s: a transaction is still open", e->file.path);
  /* Closed first: every page is in the file and its journal is gone.  */
  store_close (e->store);
  e->store = NULL;
  if (pg_replace_commit (&e->file, err) < 0)
    return pg_error_wrap (err, "policy database %s", e->file.path);
  return 0;
}

void
store_edit_end (struct pg_store_edit *e)
{
  store_close (e->store);
  e->store = NULL;
  pg_replace_end (&e->file);
}
