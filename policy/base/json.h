/* patchgate: JSON with the project's bounds.  */
#ifndef PATCHGATE_JSON_H
#define PATCHGATE_JSON_H

#include "base/util.h"

/* Parse JSON from a buffer with patchgate's limits: no NUL bytes in strings,
   nesting at most PG_MAX_JSON_DEPTH.  NAME is used in error messages.  */
int pg_json_parse (const char *buf, size_t len, const char *name, json_t **out, pg_error_t *err);
/* The same with extra jansson decoding FLAGS, e.g. JSON_DECODE_INT_AS_REAL
   for documents with unsigned 64-bit numbers (OCI rlimits).  */
int pg_json_parse_flags (const char *buf, size_t len, const char *name, size_t flags, json_t **out,
                         pg_error_t *err);
/* The parser under both: at most LIM->max_values values, jansson FLAGS
   (JSON_REJECT_DUPLICATES always).  With JSON_DISABLE_EOF_CHECK, BUF is a
   stream: the first value is parsed, *USED says how many bytes it took,
   and the caller bounds the whole stream.  */
struct pg_json_limits
{
  size_t max_values;
  size_t flags;
};
int pg_json_parse_limited (const char *buf, size_t len, const char *name, const struct pg_json_limits *lim,
                           size_t *used, json_t **out, pg_error_t *err);
int pg_json_load_file (const char *path, size_t max, json_t **out, pg_error_t *err);
/* Seed jansson's hash function with getrandom (2) before any JSON value
   exists, instead of jansson's own open and read of /dev/urandom (what
   it falls back to when getrandom has nothing yet).  */
void pg_json_seed (void);
/* An upper bound of the number of JSON values in BUF[0..LEN), from its text
   (commas and opening brackets outside strings, plus one).  */
size_t pg_json_count_values (const char *buf, size_t len);

/* The length of the object or array that opens BUF (BUF[0] is '{' or '['),
   from its text: brackets outside strings matched, nothing else checked
   (parse those bytes to know they are JSON).  0 when BUF does not open
   one or it does not close within LEN bytes.  */
size_t pg_json_container_end (const char *buf, size_t len);

/* String field helpers: NULL when absent or not a string.  */
const char *pg_json_string (json_t *obj, const char *key);
/* Walk a path of object keys separated by '.' and return the node or NULL. */
json_t *pg_json_path (json_t *obj, const char *path);
/* JSON's whitespace: space, tab, newline, carriage return.  */
bool pg_json_is_space (char c);
/* A JSON array of the strings V[0..N).  */
json_t *pg_json_strv (char *const *v, size_t n);

#endif
