/* patchgate: the `meta` table.  */
#include "store/meta.h"
#include "store/connection.h"

#include <errno.h>
#include <string.h>

#define META_GET "SELECT value FROM meta WHERE key = ?"
#define META_SET "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"

static int
parse_int64 (const char *s, int64_t *out)
{
  char *end = NULL;
  long long v;
  if (s == NULL || *s == '\0')
    return -1;
  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno || *end != '\0')
    return -1;
  *out = v;
  return 0;
}

/* One row of META_GET on ST, already bound: 1 with a row, 0 without.  */
static int
meta_step (sqlite3 *db, const char *name, const char *key, sqlite3_stmt *st, pg_error_t *err)
{
  int r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    return 1;
  if (r == SQLITE_DONE)
    return 0;
  return pg_make_error (err, 0, "%s: reading meta.%s: %s", name, key, sqlite3_errmsg (db));
}

int
store_meta_get_text (pg_store *store, const char *key, char **out, pg_error_t *err)
{
  size_t len;
  /* The blob reader copies the bytes with a NUL after them.  */
  return store_meta_get_blob (store, key, (void **) out, &len, err);
}

int
store_meta_get_int (pg_store *store, const char *key, int64_t *out, pg_error_t *err)
{
  return store_meta_get_int_db (store->db, store->path, key, out, err);
}

int
store_meta_get_int_db (sqlite3 *db, const char *name, const char *key, int64_t *out, pg_error_t *err)
{
  cleanup_free char *text = NULL;
  int r = store_meta_get_text_db (db, name, key, &text, err);

  if (r == 1 && parse_int64 (text, out) < 0)
    return pg_make_error (err, 0, "%s: meta.%s is not an integer", name, key);
  return r;
}

int
store_meta_get_text_db (sqlite3 *db, const char *name, const char *key, char **out, pg_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int r;

  *out = NULL;
  if (sqlite3_prepare_v2 (db, META_GET, -1, &st, NULL) != SQLITE_OK)
    return pg_make_error (err, 0, "%s: reading meta.%s: %s", name, key, sqlite3_errmsg (db));
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  r = meta_step (db, name, key, st, err);
  if (r == 1)
    {
      const char *v = (const char *) sqlite3_column_text (st, 0);
      *out = xstrdup (v ? v : "");
    }
  sqlite3_finalize (st);
  return r;
}

int
store_meta_get_blob (pg_store *store, const char *key, void **out, size_t *len, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  *out = NULL;
  *len = 0;
  if (store_prepare (store, META_GET, &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  r = meta_step (store->db, store->path, key, st, err);
  if (r == 1)
    {
      const void *blob = sqlite3_column_blob (st, 0);
      *len = (size_t) sqlite3_column_bytes (st, 0);
      *out = xmalloc0 (*len + 1);
      if (*len)
        memcpy (*out, blob, *len);
    }
  return r;
}

static int
meta_set (pg_store *store, const char *key, const void *value, size_t len, bool blob, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;

  if (store_prepare (store, META_SET, &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  if (blob)
    sqlite3_bind_blob (st, 2, value, (int) len, SQLITE_STATIC);
  else
    sqlite3_bind_text (st, 2, value, -1, SQLITE_STATIC);
  return store_step_done (store, st, "writing meta", err);
}

int
store_meta_set_text (pg_store *store, const char *key, const char *value, pg_error_t *err)
{
  return meta_set (store, key, value, 0, false, err);
}

int
store_meta_set_int (pg_store *store, const char *key, int64_t value, pg_error_t *err)
{
  char buf[32];
  snprintf (buf, sizeof (buf), "%lld", (long long) value);
  return meta_set (store, key, buf, 0, false, err);
}

int
store_meta_set_blob (pg_store *store, const char *key, const void *blob, size_t len, pg_error_t *err)
{
  if (len > (size_t) INT32_MAX)
    return pg_make_error (err, 0, "%s: meta.%s: too large", store->path, key);
  return meta_set (store, key, blob, len, true, err);
}
