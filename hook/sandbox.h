/* patchgate: the hook's own sandbox (libcap; a seccomp filter built with
 * libseccomp at build time, seccomp_rules.c).
 *
 * patchgate-hook runs as root in the host's namespaces for every container
 * start, and parses what others wrote (the OCI state, the bundle's
 * config.json and umoci.json, the engines' metadata).  It therefore keeps
 * as little as it can, in two steps:
 *
 * 1. pg_sandbox_init_caps, first thing in main: no_new_privs (so an exec
 *    gains nothing: the bounding set is moot and left); the ambient set
 *    emptied; of the permitted and effective sets only
 *    CAP_DAC_READ_SEARCH is kept (and only when it was there), which lets
 *    root read a bundle or an engine's metadata whatever their owner and
 *    mode.  Nothing else: no CAP_DAC_OVERRIDE (the hook never writes), no
 *    CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_NET_*, CAP_SETUID...
 *
 * 2. pg_sandbox_enter, once every input is open (gate_prepare): every
 *    capability dropped, then a seccomp allowlist (pg_sandbox_seccomp):
 *    reading the mapped policy index (memory; read-only opens, fstat,
 *    lseek, access for what libraries check), logging
 *    (sendto on the AF_UNIX socket already connected to /dev/log, a new
 *    AF_UNIX socket to reconnect, write on stderr), the deadline's SIGALRM,
 *    and exit.  Anything else kills the process (SIGSYS), and the runtime
 *    refuses the start.  A hook that publishes the metrics textfile may
 *    also create, rename and remove files, in that one directory
 *    (pg_sandbox_confine_writes).
 *
 * Sanitizer builds (make SANITIZE=1) need more at exit (LeakSanitizer stops
 * the world with clone and ptrace, reads /proc, writes its report to
 * log_path): the allowlist is extended there, at compile time only.
 */
#ifndef PATCHGATE_SANDBOX_H
#define PATCHGATE_SANDBOX_H

#include "base/util.h"

int pg_sandbox_init_caps (pg_error_t *err);
/* Empty every capability set.  */
int pg_sandbox_drop_caps (pg_error_t *err);
/* Only for a hook that publishes the metrics textfile (metrics/metrics.h),
 * before pg_sandbox_enter: a Landlock ruleset allows changes to the file
 * system only below DIRFD, the textfile's directory (creating, writing,
 * renaming and removing regular files there; nothing else anywhere), and
 * pg_sandbox_seccomp then loads the allowlist with openat
 * (O_WRONLY|O_CREAT|O_EXCL), renameat, renameat2 (RENAME_EXCHANGE) and
 * unlinkat added.  Fails when the
 * kernel has no Landlock: the hook then keeps the plain allowlist and does
 * not publish.  (SANITIZE=1 builds skip Landlock: their sanitizers write
 * reports anywhere log_path says.)  */
int pg_sandbox_confine_writes (int dirfd, pg_error_t *err);
/* Load the seccomp allowlist (no_new_privs must be set).  */
int pg_sandbox_seccomp (pg_error_t *err);
/* pg_sandbox_drop_caps, then pg_sandbox_seccomp.  */
int pg_sandbox_enter (pg_error_t *err);

#endif
