/* patchgate: the hook's seccomp allowlist as libseccomp rules
 * (seccomp_rules.c): what the build exports into the hook (seccomp_gen.c),
 * and what tests/unit/test_sandbox.c compares the hook's program with.
 */
#ifndef PATCHGATE_SECCOMP_RULES_H
#define PATCHGATE_SECCOMP_RULES_H

#include "base/util.h"

#include <seccomp.h>

/* The value the exported program compares tgkill's pid with, which the hook
   replaces with its own pid before loading it.  */
#define PG_SECCOMP_PID_PLACEHOLDER 0x7ffffffeU

/* The sanitizer runtimes are detected at compile time: GCC defines
   __SANITIZE_ADDRESS__, clang answers __has_feature.  */
#if defined(__SANITIZE_ADDRESS__)
#define PG_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PG_SANITIZER_BUILD 1
#endif
#endif

/* The allowlist for the process PID.  TEXTFILE: also what publishing the
   metrics textfile needs (metrics/metrics.h: creating a file with
   O_WRONLY|O_CREAT|O_EXCL, renameat, renameat2 with RENAME_EXCHANGE,
   unlinkat), for a hook whose writes
   Landlock has confined to the textfile's directory (sandbox.h).  */
int pg_seccomp_rules (uint32_t pid, bool textfile, scmp_filter_ctx *out, pg_error_t *err);

#endif
