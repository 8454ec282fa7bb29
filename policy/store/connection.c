/* patchgate: the store's connection: SQLite errors, a statement cache,
 * and the helpers every store file shares.
 */
#include "store/connection.h"

#include <string.h>

int
store_sqlite_error (pg_error_t *err, pg_store *store, const char *what)
{
  return pg_make_error (err, 0, "%s: %s: %s", store->path, what, sqlite3_errmsg (store->db));
}

/* Prepared statements are kept until store_close: an import of many reports
   compiles each statement once, not once per scan.  The cache is keyed by
   the store and the SQL text.  A statement from prepare() goes back to the
   cache (reset, bindings cleared) when its cleanup_stmt variable goes out of
   scope; one that was not cached (cache full, or the cached one is still
   stepping in an outer caller) is finalized there as before.  Like the
   connections (SQLITE_OPEN_NOMUTEX), this is for one thread.  */
#define PG_STMT_CACHE 64
static struct
{
  pg_store *store;
  sqlite3_stmt *st;
} stmt_cache[PG_STMT_CACHE];

static bool
stmt_cached (sqlite3_stmt *st)
{
  for (size_t i = 0; st && i < PG_STMT_CACHE; i++)
    if (stmt_cache[i].st == st)
      return true;
  return false;
}

void
store_stmt_cache_drop (pg_store *store)
{
  for (size_t i = 0; i < PG_STMT_CACHE; i++)
    if (stmt_cache[i].store == store)
      {
        sqlite3_finalize (stmt_cache[i].st);
        stmt_cache[i].store = NULL;
        stmt_cache[i].st = NULL;
      }
}

void
store_cleanup_stmtp (sqlite3_stmt **s)
{
  if (*s && stmt_cached (*s))
    {
      sqlite3_reset (*s);
      sqlite3_clear_bindings (*s);
    }
  else
    sqlite3_finalize (*s);
}

int
store_prepare (pg_store *store, const char *sql, sqlite3_stmt **out, pg_error_t *err)
{
  size_t free_slot = PG_STMT_CACHE;

  for (size_t i = 0; i < PG_STMT_CACHE; i++)
    {
      if (stmt_cache[i].store == NULL)
        {
          if (free_slot == PG_STMT_CACHE)
            free_slot = i;
          continue;
        }
      if (stmt_cache[i].store != store || strcmp (sqlite3_sql (stmt_cache[i].st), sql) != 0)
        continue;
      if (sqlite3_stmt_busy (stmt_cache[i].st))
        break; /* in use further up the stack: a private copy */
      *out = stmt_cache[i].st;
      return 0;
    }
  if (sqlite3_prepare_v3 (store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK)
    return store_sqlite_error (err, store, "prepare");
  if (free_slot < PG_STMT_CACHE && *out && strcmp (sqlite3_sql (*out), sql) == 0)
    {
      bool dup = false;
      for (size_t i = 0; i < PG_STMT_CACHE; i++)
        dup |= stmt_cache[i].store == store && strcmp (sqlite3_sql (stmt_cache[i].st), sql) == 0;
      if (!dup)
        {
          stmt_cache[free_slot].store = store;
          stmt_cache[free_slot].st = *out;
        }
    }
  return 0;
}

int
store_query_int64 (pg_store *store, const char *sql, int64_t *out, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;

  if (store_prepare (store, sql, &st, err) < 0)
    return -1;
  if (sqlite3_step (st) != SQLITE_ROW)
    return store_sqlite_error (err, store, sql);
  *out = sqlite3_column_int64 (st, 0);
  return 0;
}

int
store_exec_sql (pg_store *store, const char *sql, pg_error_t *err)
{
  char *msg = NULL;
  if (sqlite3_exec (store->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      pg_make_error (err, 0, "%s: %s", store->path, msg ? msg : sqlite3_errmsg (store->db));
      sqlite3_free (msg);
      return -1;
    }
  return 0;
}

int
store_schema_version (pg_store *store, int *version, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (store_prepare (store, "PRAGMA user_version", &st, err) < 0)
    return -1;
  if (sqlite3_step (st) != SQLITE_ROW)
    return store_sqlite_error (err, store, "reading the schema version");
  *version = sqlite3_column_int (st, 0);
  return 0;
}

int
store_bind_text_or_null (sqlite3_stmt *st, int i, const char *s)
{
  return s ? sqlite3_bind_text (st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null (st, i);
}

int
store_step_done (pg_store *store, sqlite3_stmt *st, const char *what, pg_error_t *err)
{
  int r = sqlite3_step (st);
  if (r != SQLITE_DONE && r != SQLITE_ROW)
    return store_sqlite_error (err, store, what);
  sqlite3_reset (st);
  sqlite3_clear_bindings (st);
  return 0;
}

/* ---- reading image records ---- */

/* ---- policy ---- */
