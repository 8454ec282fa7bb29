/* hook_nosandbox: patchgate-hook without its capability and seccomp sandbox
 * (hook/sandbox.h), for valgrind only: valgrind cannot run a process that
 * loads a seccomp filter, and callgrind's instruction counts are the one
 * measure the shared machine's noise does not move.  The same main, the
 * same library, with the two calls that enter the sandbox compiled out;
 * the sandbox's own cost shows in the wall-clock figures of the real hook.
 * Never install this.
 */
#include "sandbox.h"
#include "hook_metrics.h"

#define pg_sandbox_init_caps(err) 0
#define pg_sandbox_enter(err) 0
#define hook_metrics_confine() ((void) 0)

#include "../../hook/main.c"
