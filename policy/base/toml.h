/* patchgate: the part of TOML that engines' configuration files use, read
 * to find a few keys (containers.conf's and crio.conf's hooks_dir,
 * containerd's base_runtime_spec for doctor; storage.conf's graphroot,
 * runroot and driver for identify/).  Tables ([a."b.c".d]), bare, quoted
 * and dotted keys; strings (basic, literal, multi-line), arrays of strings
 * (over several lines, with comments and a trailing comma), integers and
 * booleans are returned.  Array tables ([[x]]), inline tables, floats and
 * dates are stepped over and returned as PG_TOML_OTHER (array tables'
 * keys not at all): no caller needs them, and none must stumble on them.
 */
#ifndef PATCHGATE_BASE_TOML_H
#define PATCHGATE_BASE_TOML_H

#include "base/util.h"

enum pg_toml_type
{
  PG_TOML_STRING,
  PG_TOML_STRINGS, /* an array whose items are all strings (or empty) */
  PG_TOML_BOOL,
  PG_TOML_INT,
  PG_TOML_OTHER,
  PG_TOML_TABLE, /* a table header: KEY is the table */
};

struct pg_toml_entry
{
  char **key; /* the full path: table keys, then the dotted key */
  size_t n_key;
  enum pg_toml_type type;
  char *str;
  char **strv;
  size_t n_strv;
  bool boolean;
  long long integer;
  int line;
};

struct pg_toml
{
  struct pg_toml_entry *entries;
  size_t n_entries;
};

/* NAME is used in messages ("NAME:LINE: ...").  */
int pg_toml_parse (const char *buf, size_t len, const char *name, struct pg_toml *doc, pg_error_t *err);
/* Returns 1 when read, 0 when PATH does not exist (DOC empty), <0 on error.  */
int pg_toml_load_file (const char *path, struct pg_toml *doc, pg_error_t *err);
void pg_toml_free (struct pg_toml *doc);
#define cleanup_toml __attribute__ ((cleanup (pg_toml_free)))

/* The entry at the key path KEY[0..N) (the last one, as a later
   definition would be an error in TOML anyway), or NULL.  */
const struct pg_toml_entry *pg_toml_find (const struct pg_toml *doc, const char *const *key, size_t n);
/* Whether any entry lies below the table KEY[0..N).  */
bool pg_toml_has_table (const struct pg_toml *doc, const char *const *key, size_t n);

#endif
