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
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <seccomp.h>

/* The sanitizer runtimes are detected at compile time: GCC defines
   __SANITIZE_ADDRESS__, clang answers __has_feature.  */
#if defined(__SANITIZE_ADDRESS__)
#define PG_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PG_SANITIZER_BUILD 1
#endif
#endif

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
  /* The bounding set can only be emptied with CAP_SETPCAP: root has it,
     an unprivileged caller has nothing to drop.  */
  if (cap_get_flag (cur, CAP_SETPCAP, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
    for (cap_value_t c = 0; c <= CAP_LAST_CAP && CAP_IS_SUPPORTED (c); c++)
      if (cap_drop_bound (c) < 0)
        return pg_make_error (err, errno, "sandbox: dropping capability %d from the bounding set", (int) c);
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

static void
cleanup_scmpp (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}

/* Syscalls allowed whatever their arguments.  */
// clang-format off
static const char *const allowed[] = {
  /* reading the open database, stdin, metadata already open */
  "read", "pread64", "readv", "preadv", "lseek", "fstat", "newfstatat", "stat", "lstat", "statx",
  "access", "faccessat", "faccessat2", "close", "getpid", "getuid", "geteuid", "getrandom",
  /* SQLite's busy handler sleeps between lock attempts */
  "nanosleep", "clock_nanosleep",
  /* memory (mmap and mprotect: below, never executable) */
  "brk", "munmap", "mremap", "madvise",
  /* logging: syslog on the connected socket (socket: below), stderr */
  "write", "writev", "sendto", "sendmsg", "connect",
  /* time */
  "clock_gettime", "gettimeofday", "time",
  /* the deadline's SIGALRM handler returns or exits; abort () (tgkill: below) */
  "rt_sigreturn", "rt_sigprocmask", "gettid", "futex", "exit", "exit_group",
#ifdef PG_SANITIZER_BUILD
  /* ASan/UBSan reports and LeakSanitizer's check at exit: it stops the
     world by cloning a tracer that ptraces every thread, reads
     /proc/self/maps and /proc/self/task, and writes its report to log_path
     (openat with O_CREAT).  Only in SANITIZE=1 builds.  */
  "clone", "clone3", "ptrace", "prctl", "wait4", "waitid", "sched_yield", "getdents", "getdents64", "readlink",
  "readlinkat", "sigaltstack", "rt_sigaction", "getppid", "kill", "dup", "dup2", "dup3", "pipe", "pipe2",
  "sched_getaffinity", "set_robust_list", "rseq", "getrlimit", "prlimit64", "uname", "arch_prctl",
  "mprotect", "mmap", "open", "openat", "ioctl", "fcntl",
#endif
};
// clang-format on

/* SCMP_A0 () and friends leave datum_b out, which clang warns about.  */
static struct scmp_arg_cmp
arg_cmp (unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
  struct scmp_arg_cmp c = { .arg = arg, .op = op, .datum_a = a, .datum_b = b };
  return c;
}

static int
add_rule (scmp_filter_ctx ctx, const char *name, unsigned n, const struct scmp_arg_cmp *cmp, pg_error_t *err)
{
  int nr = seccomp_syscall_resolve_name (name);
  int r;

  if (nr == __NR_SCMP_ERROR)
    return 0; /* not a syscall of this architecture */
  r = seccomp_rule_add_array (ctx, SCMP_ACT_ALLOW, nr, n, cmp);
  if (r < 0 && r != -EEXIST)
    return pg_make_error (err, -r, "sandbox: seccomp rule for %s", name);
  return 0;
}

int
pg_sandbox_seccomp (pg_error_t *err)
{
  __attribute__ ((cleanup (cleanup_scmpp))) scmp_filter_ctx ctx = NULL;
  const scmp_datum_t writes = O_ACCMODE | O_CREAT | O_TRUNC;
  static const int fcntl_cmds[] = { F_GETFD, F_SETFD,  F_GETFL,     F_SETFL,     F_GETLK,
                                    F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW };
  int r;

  ctx = seccomp_init (SCMP_ACT_KILL_PROCESS);
  if (ctx == NULL)
    return pg_make_error (err, 0, "sandbox: seccomp_init failed");
  /* A syscall of another ABI (x32, i386 on x86_64) is killed too.  */
  if ((r = seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
    return pg_make_error (err, -r, "sandbox: seccomp_attr_set");
  for (size_t i = 0; i < sizeof (allowed) / sizeof (allowed[0]); i++)
    if (add_rule (ctx, allowed[i], 0, NULL, err) < 0)
      return -1;

  {
    /* A new socket only to reconnect to /dev/log.  */
    struct scmp_arg_cmp unix_only = arg_cmp (0, SCMP_CMP_EQ, AF_UNIX, 0);
    /* abort () signals the process itself.  */
    struct scmp_arg_cmp self = arg_cmp (0, SCMP_CMP_EQ, (scmp_datum_t) getpid (), 0);

    if (add_rule (ctx, "socket", 1, &unix_only, err) < 0 || add_rule (ctx, "tgkill", 1, &self, err) < 0)
      return -1;
  }
#ifndef PG_SANITIZER_BUILD
  {
    /* Files are opened for reading only (SQLite checks its journal).  */
    struct scmp_arg_cmp ro_at = arg_cmp (2, SCMP_CMP_MASKED_EQ, writes, 0);
    struct scmp_arg_cmp ro = arg_cmp (1, SCMP_CMP_MASKED_EQ, writes, 0);
    /* Memory is never made executable.  */
    struct scmp_arg_cmp noexec = arg_cmp (2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
    /* isatty (stdio) and nothing else.  */
    struct scmp_arg_cmp tcgets = arg_cmp (1, SCMP_CMP_EQ, TCGETS, 0);

    if (add_rule (ctx, "openat", 1, &ro_at, err) < 0 || add_rule (ctx, "open", 1, &ro, err) < 0
        || add_rule (ctx, "mmap", 1, &noexec, err) < 0 || add_rule (ctx, "mprotect", 1, &noexec, err) < 0
        || add_rule (ctx, "ioctl", 1, &tcgets, err) < 0)
      return -1;
    /* SQLite's POSIX advisory locks, and descriptor flags.  */
    for (size_t i = 0; i < sizeof (fcntl_cmds) / sizeof (fcntl_cmds[0]); i++)
      {
        struct scmp_arg_cmp cmd = arg_cmp (1, SCMP_CMP_EQ, (scmp_datum_t) fcntl_cmds[i], 0);
        if (add_rule (ctx, "fcntl", 1, &cmd, err) < 0)
          return -1;
      }
  }
#else
  (void) writes;
  (void) fcntl_cmds;
#endif

  if ((r = seccomp_load (ctx)) < 0)
    return pg_make_error (err, -r, "sandbox: loading the seccomp filter");
  return 0;
}

int
pg_sandbox_enter (pg_error_t *err)
{
  if (pg_sandbox_drop_caps (err) < 0)
    return -1;
  return pg_sandbox_seccomp (err);
}
