/* patchgate: shared helpers: errors, cleanup attributes, bounded reads, time.
 *
 * Every library function that can fail returns a negative value and fills a
 * pg_error_t, as libcrun does, so that the hook and the CLI decide what to do
 * with the failure (refuse, print, log) and nothing deep in the library exits.
 */
#ifndef PATCHGATE_UTIL_H
#define PATCHGATE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>

struct pg_error_s
{
  int status; /* errno value, or 0 */
  char *msg;
};
typedef struct pg_error_s *pg_error_t;

int pg_make_error (pg_error_t *err, int status, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
/* Prefix an existing error with more context ("reading X: <old message>").  */
int pg_error_wrap (pg_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void pg_error_release (pg_error_t *err);

void cleanup_freep (void *p);
void cleanup_closep (int *fd);
void cleanup_filep (FILE **f);
void cleanup_jsonp (json_t **j);
void cleanup_errorp (pg_error_t *err);

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_file __attribute__ ((cleanup (cleanup_filep)))
#define cleanup_json __attribute__ ((cleanup (cleanup_jsonp)))
#define cleanup_error __attribute__ ((cleanup (cleanup_errorp)))

void *xmalloc0 (size_t size);
void *xrealloc (void *p, size_t size);
char *xstrdup (const char *s);
int xasprintf (char **out, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Growable string vectors.  */
void strv_append (char ***v, size_t *n, const char *s);
void strv_free (char **v, size_t n);

/* Input bounds: everything read from outside is capped.  */
#define PG_MAX_STATE_SIZE (1u << 20)
#define PG_MAX_CONFIG_SIZE (16u << 20)
#define PG_MAX_HOOK_CONFIG_SIZE (1u << 20)
#define PG_MAX_POLICY_SIZE (16u << 20)
#define PG_MAX_REPORT_SIZE (512u << 20)
#define PG_MAX_METADATA_SIZE (64u << 20)
#define PG_MAX_JSON_DEPTH 64
/* Values (scalars, arrays, objects) in one JSON document the hook or the
   policy parser reads: jansson spends some 60 bytes on each, so this bounds
   its memory to tens of MB whatever the byte size.  Reports, which are
   larger and come from the admin, have their own cap.  */
#define PG_MAX_JSON_VALUES 1000000u
#define PG_MAX_REPORT_JSON_VALUES 40000000u
/* Annotations in one OCI state or config.json.  */
#define PG_MAX_ANNOTATIONS 100000u

/* Read a whole file (or fd), refusing more than MAX bytes.  The result is
   NUL-terminated; *len excludes the NUL.  */
int read_all_fd (int fd, const char *name, size_t max, char **out, size_t *len, pg_error_t *err);
int read_all_file (const char *path, size_t max, char **out, size_t *len, pg_error_t *err);

/* Parse JSON from a buffer with patchgate's limits: no NUL bytes in strings,
   nesting at most PG_MAX_JSON_DEPTH.  NAME is used in error messages.  */
int json_parse_bounded (const char *buf, size_t len, const char *name, json_t **out, pg_error_t *err);
/* The same with extra jansson decoding FLAGS, e.g. JSON_DECODE_INT_AS_REAL
   for documents with unsigned 64-bit numbers (OCI rlimits).  */
int json_parse_bounded_flags (const char *buf, size_t len, const char *name, size_t flags, json_t **out,
                              pg_error_t *err);
int json_load_file_bounded (const char *path, size_t max, json_t **out, pg_error_t *err);
/* An upper bound of the number of JSON values in BUF[0..LEN), from its text
   (commas and opening brackets outside strings, plus one).  */
size_t json_text_count_values (const char *buf, size_t len);

/* String field helpers: NULL when absent or not a string.  */
const char *json_get_string (json_t *obj, const char *key);
/* Walk a path of object keys separated by '.' and return the node or NULL. */
json_t *json_get_path (json_t *obj, const char *path);

/* Time.  Timestamps are seconds since the epoch, UTC.  */
int parse_rfc3339 (const char *s, int64_t *out);
void format_rfc3339 (int64_t t, char *buf, size_t size);
/* "7d", "12h", "30m", "45s", "2w", or a combination such as "1d12h".  */
int parse_duration (const char *s, int64_t *out);
/* Human text for a duration, e.g. "12 days", "5 hours".  */
void format_duration (int64_t secs, char *buf, size_t size);
/* The current time, or PATCHGATE_NOW when set.  */
int pg_now (int64_t *out, pg_error_t *err);


#endif
