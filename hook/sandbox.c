/* patchgate: the hook's own sandbox; see sandbox.h for what is kept and
 * why.
 */
#include "sandbox.h"
#include "seccomp_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/landlock.h>
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

/* Set by pg_sandbox_confine_writes: load the allowlist that lets the hook
   publish the metrics textfile.  */
static bool textfile_allowed;

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

int
pg_sandbox_confine_writes (int dirfd, pg_error_t *err)
{
#ifdef PG_SANITIZER_BUILD
  /* The sanitizers write their reports with O_CREAT where log_path says:
     no Landlock in SANITIZE=1 builds, whose allowlist is wider anyway.  */
  (void) dirfd;
  textfile_allowed = true;
  return 0;
#else
  struct landlock_ruleset_attr attr;
  struct landlock_path_beneath_attr beneath;
  cleanup_close int ruleset = -1;
  long abi;

  abi = syscall (SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1)
    return pg_make_error (err, errno,
                          "sandbox: Landlock is not available (a kernel before 5.13, or without landlock in "
                          "its lsm= list), so the hook may not write the metrics textfile");
  memset (&attr, 0, sizeof (attr));
  /* Every right to change the file system that this kernel knows.  Reads
     are left to seccomp, as before.  */
  attr.handled_access_fs = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR
                           | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR
                           | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG
                           | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO
                           | LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2)
    attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5)
    attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  ruleset = (int) syscall (SYS_landlock_create_ruleset, &attr, sizeof (attr), 0);
  if (ruleset < 0)
    return pg_make_error (err, errno, "sandbox: landlock_create_ruleset");
  /* Below the textfile's directory: write a new file, make one, remove or
     replace one (a rename within the directory needs both).  */
  memset (&beneath, 0, sizeof (beneath));
  beneath.allowed_access
      = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE;
  beneath.parent_fd = dirfd;
  if (syscall (SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) < 0)
    return pg_make_error (err, errno, "sandbox: landlock_add_rule");
  if (syscall (SYS_landlock_restrict_self, ruleset, 0) < 0)
    return pg_make_error (err, errno, "sandbox: landlock_restrict_self");
  textfile_allowed = true;
  return 0;
#endif
}

int
pg_sandbox_seccomp (pg_error_t *err)
{
  const struct sock_filter *bpf = textfile_allowed ? pg_seccomp_bpf_textfile : pg_seccomp_bpf;
  size_t n = textfile_allowed ? sizeof (pg_seccomp_bpf_textfile) / sizeof (pg_seccomp_bpf_textfile[0])
                              : sizeof (pg_seccomp_bpf) / sizeof (pg_seccomp_bpf[0]);
  size_t pid_insn = textfile_allowed ? PG_SECCOMP_TEXTFILE_PID_INSN : PG_SECCOMP_PID_INSN;
  struct sock_filter prog[sizeof (pg_seccomp_bpf_textfile) > sizeof (pg_seccomp_bpf)
                              ? sizeof (pg_seccomp_bpf_textfile) / sizeof (pg_seccomp_bpf_textfile[0])
                              : sizeof (pg_seccomp_bpf) / sizeof (pg_seccomp_bpf[0])];
  struct sock_fprog fprog = { .len = (unsigned short) n, .filter = prog };

  memcpy (prog, bpf, n * sizeof (prog[0]));
  if (prog[pid_insn].k != PG_SECCOMP_PID_PLACEHOLDER_VALUE)
    return pg_make_error (err, 0, "sandbox: the built-in seccomp program has no pid to fill in");
  prog[pid_insn].k = (uint32_t) getpid ();
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
