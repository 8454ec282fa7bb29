/* patchgate: the hook's total deadline.
 *
 * Whatever stalls the hook (a policy database locked by a writer for
 * longer than SQLite's busy timeout, a stdin that never closes, a slow
 * disk), it answers before the runtime's own hook timeout kills it
 * silently: at the deadline a SIGALRM handler logs the prepared refusal
 * (logsink.h) and exits with the prepared status (2, or 0 under
 * on_error: allow).  The hook config's `timeout` sets it.
 */
#ifndef PATCHGATE_DEADLINE_H
#define PATCHGATE_DEADLINE_H

#include <stdint.h>

/* Arm (or re-arm) the deadline at MS milliseconds after the first call.  */
int pg_deadline_arm (int64_t ms);
/* The exit status on expiry (default 2).  */
void pg_deadline_set_status (int status);
/* The decision is made and logged: from now on expiry exits with STATUS,
   silently (freeing memory is all that is left to do).  */
void pg_deadline_settle (int status);
/* FN (async-signal-safe) runs at expiry, before the exit, told whether
   the decision was settled and the exit status: the metrics count the
   deadline's refusal and give their lease back there (hook_metrics.c).  */
void pg_deadline_on_expiry (void (*fn) (int settled, int status));
/* Milliseconds left, 0 when passed.  */
int64_t pg_deadline_left_ms (void);

#endif
