/* patchgate: the hook's syslog client, which knows when a line was lost.
 *
 * glibc's syslog(3) reports nothing: with /dev/log missing, or its queue
 * full, a decision would vanish (or, with a full queue, the hook would
 * block until the runtime's timeout).  This client connects its own
 * AF_UNIX socket to /dev/log before the sandbox, sends each line without
 * waiting (MSG_DONTWAIT), reconnects once when the receiver went away, and
 * when the line still cannot be delivered prints it on stderr, where the
 * runtime (and its journal) sees it.  The decision itself never depends on
 * logging.
 */
#ifndef PATCHGATE_LOGSINK_H
#define PATCHGATE_LOGSINK_H

#include <stdbool.h>

#define PG_SYSLOG_PATH "/dev/log"

/* Connect to /dev/log (a datagram socket, else a stream one).  Failure is
   remembered, not fatal: lines then go to stderr.  Also loads the time
   zone, which formatting needs after the sandbox.  */
void pg_log_open (const char *ident, int facility);
void pg_log_set_facility (int facility);
/* Send LINE at PRIORITY (LOG_INFO, ...).  Returns true when the syslog
   socket took it; otherwise LINE went to stderr, prefixed
   "patchgate-hook: syslog unavailable (REASON): ".  */
bool pg_log_line (int priority, const char *line);

/* For the deadline's signal handler: PRIORITY and LINE are formatted now,
   and pg_log_emergency sends them later with async-signal-safe calls only
   (send, write), to syslog and to stderr, followed by STDERR_LINE.  */
void pg_log_prepare_emergency (int priority, const char *line, const char *stderr_line);
void pg_log_emergency (void);

#endif
