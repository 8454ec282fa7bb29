/* patchgate: inside the store: the connection and its statement helpers,
 * shared by store.c (open, schema, transactions), read.c, write.c and
 * meta.c.  Nothing outside policy/store/ includes this.
 */
#ifndef PATCHGATE_CONNECTION_H
#define PATCHGATE_CONNECTION_H

#include "base/util.h"
#include <sqlite3.h>

typedef struct pg_store pg_store;

struct pg_store
{
  sqlite3 *db;
  char *path;
  bool readonly;
  /* A writer's store (store_edit_begin): a transaction is open from the
     start to store_edit_commit; store_begin opens savepoints inside it,
     DEPTH deep.  */
  bool edit;
  int depth;
  /* store_prune asked for a VACUUM, which store_edit_commit runs after the
     commit.  */
  bool vacuum_due;
  /* The package names records load, sorted (store_set_package_filter);
     has_package_filter false: all.  */
  bool has_package_filter;
  char **package_filter;
  size_t n_package_filter;
};

int store_sqlite_error (pg_error_t *err, pg_store *store, const char *what);
/* A statement from the store's cache (see store.c), or a new one.  */
int store_prepare (pg_store *store, const char *sql, sqlite3_stmt **out, pg_error_t *err);
void store_cleanup_stmtp (sqlite3_stmt **s);
#define cleanup_stmt __attribute__ ((cleanup (store_cleanup_stmtp)))
int store_bind_text_or_null (sqlite3_stmt *st, int i, const char *s);
/* Step to the end (or the first row), then reset for the next use.  */
int store_step_done (pg_store *store, sqlite3_stmt *st, const char *what, pg_error_t *err);
int store_exec_sql (pg_store *store, const char *sql, pg_error_t *err);
/* The first column of the one row SQL returns (a count, a PRAGMA).  */
int store_query_int64 (pg_store *store, const char *sql, int64_t *out, pg_error_t *err);
/* Finalize the statements cached for STORE (store_close).  */
void store_stmt_cache_drop (pg_store *store);
int store_schema_version (pg_store *store, int *version, pg_error_t *err);
/* store_edit_begin's connection to the live database at PATH (which
   exists): WAL mode, kept beside the file for read-only readers
   (store_edit.c), foreign keys on; when BEGIN, a transaction is opened
   (BEGIN IMMEDIATE) and an older schema migrated inside it.  */
int store_open_live (const char *path, bool begin, pg_store **out, pg_error_t *err);

#endif
