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
 *    refuses the start.
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
/* Load the seccomp allowlist (no_new_privs must be set).  */
int pg_sandbox_seccomp (pg_error_t *err);
/* pg_sandbox_drop_caps, then pg_sandbox_seccomp.  */
int pg_sandbox_enter (pg_error_t *err);

#endif
