/* patchgate: time.  */
#ifndef PATCHGATE_CLOCK_H
#define PATCHGATE_CLOCK_H

#include "base/util.h"

/* Time.  Timestamps are seconds since the epoch, UTC.  */
int parse_rfc3339 (const char *s, int64_t *out);
void format_rfc3339 (int64_t t, char *buf, size_t size);
/* "7d", "12h", "30m", "45s", "2w", or a combination such as "1d12h".  */
int parse_duration (const char *s, int64_t *out);
/* Human text for a duration, e.g. "12 days", "5 hours".  */
void format_duration (int64_t secs, char *buf, size_t size);
/* The current time, or PATCHGATE_NOW (RFC 3339) when set: for the admin CLI,
   which its admin runs, and for the hook only when its config sets the
   test-only `test_clock` (the hook's environment is whoever ran the
   runtime's).  *FROM_ENV (may be NULL) says whether PATCHGATE_NOW was used.  */
int pg_now (int64_t *out, pg_error_t *err);
int pg_now_env (int64_t *out, bool *from_env, pg_error_t *err);
/* The real clock, whatever the environment says.  */
int64_t pg_real_now (void);

#endif
