/* patchgate: errors, cleanup attributes, memory and string vectors.
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

#include "base/limits.h"

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

#endif
