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

/* The allowlist for the process PID.  */
int pg_seccomp_rules (uint32_t pid, scmp_filter_ctx *out, pg_error_t *err);

#endif
