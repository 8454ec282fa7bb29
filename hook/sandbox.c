/* patchgate: the hook's own sandbox; see sandbox.h for what is kept and
 * why.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static void
cleanup_capp (cap_t *c)
{
  if (*c)
    cap_free (*c);
}
#define cleanup_cap __attribute__ ((cleanup (cleanup_capp)))

int
pg_sandbox_init_caps (pg_error_t *err)
{
  cleanup_cap cap_t cur = NULL;
  cleanup_cap cap_t want = NULL;
  cap_flag_value_t v = CAP_CLEAR;
  cap_value_t keep = CAP_DAC_READ_SEARCH;

  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return pg_make_error (err, errno, "sandbox: prctl (PR_SET_NO_NEW_PRIVS)");
  cur = cap_get_proc ();
  if (cur == NULL)
    return pg_make_error (err, errno, "sandbox: reading the capabilities");
  /* The bounding set is left as it is: it only bounds what an exec may
     add, and under no_new_privs an exec keeps at most the permitted set it
     had (the kernel intersects them), which is CAP_DAC_READ_SEARCH here
     and nothing once the sandbox is entered; emptying it cost a prctl per
     capability, 41 syscalls on every container start.  */
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return pg_make_error (err, errno, "sandbox: clearing the ambient capabilities");
  want = cap_init ();
  if (want == NULL)
    return pg_make_error (err, errno, "sandbox: cap_init");
  v = CAP_CLEAR;
  if (cap_get_flag (cur, keep, CAP_PERMITTED, &v) == 0 && v == CAP_SET
      && (cap_set_flag (want, CAP_PERMITTED, 1, &keep, CAP_SET) < 0
          || cap_set_flag (want, CAP_EFFECTIVE, 1, &keep, CAP_SET) < 0))
    return pg_make_error (err, errno, "sandbox: cap_set_flag");
  if (cap_set_proc (want) < 0)
    return pg_make_error (err, errno, "sandbox: keeping only CAP_DAC_READ_SEARCH");
  return 0;
}

int
pg_sandbox_drop_caps (pg_error_t *err)
{
  cleanup_cap cap_t none = cap_init ();

  if (none == NULL)
    return pg_make_error (err, errno, "sandbox: cap_init");
  if (cap_set_proc (none) < 0)
    return pg_make_error (err, errno, "sandbox: dropping every capability");
  return 0;
}

/* The allowlist (seccomp_rules.c), compiled at build time into a BPF
   program whose only run-time value is the process's own pid (tgkill may
   signal it alone): the Makefile's seccomp_gen exports it with a
   placeholder there, and names that instruction.  Building the filter with
   libseccomp at every start cost the hook about a third of its time.  */
#include <seccomp_bpf.h> /* generated: $(BUILD)/gen/, by the Makefile */

int
pg_sandbox_seccomp (pg_error_t *err)
{
  struct sock_filter prog[sizeof (pg_seccomp_bpf) / sizeof (pg_seccomp_bpf[0])];
  struct sock_fprog fprog = { .len = (unsigned short) (sizeof (prog) / sizeof (prog[0])), .filter = prog };

  memcpy (prog, pg_seccomp_bpf, sizeof (prog));
  if (prog[PG_SECCOMP_PID_INSN].k != PG_SECCOMP_PID_PLACEHOLDER_VALUE)
    return pg_make_error (err, 0, "sandbox: the built-in seccomp program has no pid to fill in");
  prog[PG_SECCOMP_PID_INSN].k = (uint32_t) getpid ();
  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
    return pg_make_error (err, errno, "sandbox: loading the seccomp filter");
  return 0;
}

int
pg_sandbox_enter (pg_error_t *err)
{
  if (pg_sandbox_drop_caps (err) < 0)
    return -1;
  return pg_sandbox_seccomp (err);
}
