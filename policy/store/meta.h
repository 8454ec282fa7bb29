/* patchgate: the store's `meta` table: small named facts about the
 * database (the bundle it was activated from, the parsed policy's record,
 * the last sync).  Every read and write of that table goes through here.
 */
#ifndef PATCHGATE_META_H
#define PATCHGATE_META_H

#include "store/store.h"

/* Each getter returns 1 and fills *OUT when KEY is present, 0 when absent,
   <0 on error.  */
int store_meta_get_text (pg_store *store, const char *key, char **out, pg_error_t *err);
int store_meta_get_int (pg_store *store, const char *key, int64_t *out, pg_error_t *err);
int store_meta_get_blob (pg_store *store, const char *key, void **out, size_t *len, pg_error_t *err);
/* The same on a connection that is not a pg_store (a database that may not
   be patchgate's); NAME is used in messages.  */
int store_meta_get_int_db (sqlite3 *db, const char *name, const char *key, int64_t *out, pg_error_t *err);
int store_meta_get_text_db (sqlite3 *db, const char *name, const char *key, char **out, pg_error_t *err);

/* In the caller's write transaction.  */
int store_meta_set_text (pg_store *store, const char *key, const char *value, pg_error_t *err);
int store_meta_set_int (pg_store *store, const char *key, int64_t value, pg_error_t *err);
int store_meta_set_blob (pg_store *store, const char *key, const void *blob, size_t len, pg_error_t *err);

#endif
