/* hook_nosandbox: patchgate-hook without its capability and seccomp sandbox
 * (hook/sandbox.h), for valgrind only: valgrind cannot run a process that
 * loads a seccomp filter, and callgrind's instruction counts are the one
 * measure the shared machine's noise does not move.  The same main, the
 * same library; the sandbox's own cost is in the wall-clock figures of the
 * real hook.  Never install this.
 */
#include "../../hook/main.c"

int
pg_sandbox_init_caps (pg_error_t *err)
{
  return 0;
}

int
pg_sandbox_drop_caps (pg_error_t *err)
{
  return 0;
}

int
pg_sandbox_seccomp (pg_error_t *err)
{
  return 0;
}

int
pg_sandbox_enter (pg_error_t *err)
{
  return 0;
}
