/* patchgate: the hook's seccomp allowlist, as libseccomp rules.  The hook
 * does not run this: the Makefile runs it at build time (hook/seccomp_gen.c)
 * and compiles the BPF program it exports into the hook (sandbox.c), so
 * that no container start pays for building the filter.  tests/unit/
 * test_sandbox.c checks that the two programs are the same, byte for byte.
 */
#include "seccomp_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stdio.h> /* RENAME_EXCHANGE */

static void
cleanup_scmpp (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}

/* Syscalls allowed whatever their arguments: what the hook does once every
   input is read and the index opened (hook/main.c), and no more.  Nothing
   is opened or stat'ed in the sandbox: the decision reads the index's
   hash slot and record from its open descriptor, the metrics counters
   are a mapping.  A shorter program also loads faster (the kernel
   converts and compiles it at every start): half as long as the list that
   allowed opens took 5 us off a start (BENCHMARKS.md).  */
// clang-format off
static const char *const allowed[] = {
  /* the index, read where its pieces lie (index/lookup.c) */
  "read", "pread64", "lseek",
  /* memory (mmap and mprotect: below, never executable); the index and
     the descriptors closed at exit */
  "brk", "munmap", "mremap", "madvise", "close",
  /* logging: syslog on the connected socket (socket: below), stderr */
  "write", "writev", "sendto", "sendmsg", "connect", "getpid",
  /* time, when the vDSO cannot answer */
  "clock_gettime", "gettimeofday", "time",
  /* the deadline's SIGALRM handler returns or exits; abort () (tgkill: below) */
  "rt_sigreturn", "rt_sigprocmask", "gettid", "exit", "exit_group",
#ifdef PG_SANITIZER_BUILD
  /* ASan/UBSan reports and LeakSanitizer's check at exit: it stops the
     world by cloning a tracer that ptraces every thread, reads
     /proc/self/maps and /proc/self/task, and writes its report to log_path
     (openat with O_CREAT).  Only in SANITIZE=1 builds.  */
  "readv", "preadv", "fstat", "newfstatat", "stat", "lstat", "statx", "access",
  "faccessat", "faccessat2", "getuid", "geteuid", "getrandom", "nanosleep", "clock_nanosleep", "futex",
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
pg_seccomp_rules (uint32_t pid, bool textfile, scmp_filter_ctx *out, pg_error_t *err)
{
  __attribute__ ((cleanup (cleanup_scmpp))) scmp_filter_ctx ctx = NULL;
  int r;

  ctx = seccomp_init (SCMP_ACT_KILL_PROCESS);
  if (ctx == NULL)
    return pg_make_error (err, 0, "sandbox: seccomp_init failed");
  /* A syscall of another ABI (x32, i386 on x86_64) is killed too.  */
  if ((r = seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
    return pg_make_error (err, -r, "sandbox: seccomp_attr_set");
  /* The syscalls as a binary tree, not a list: at every load the kernel
     runs the program once per syscall number to cache the ones it always
     allows, and each of those runs walks a list to its end.  Loading the
     tree costs the hook about half as much (BENCHMARKS.md).  */
  if ((r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0)
    return pg_make_error (err, -r, "sandbox: seccomp_attr_set (optimize)");
  for (size_t i = 0; i < sizeof (allowed) / sizeof (allowed[0]); i++)
    if (add_rule (ctx, allowed[i], 0, NULL, err) < 0)
      return -1;

  {
    /* A new socket only to reconnect to /dev/log.  */
    struct scmp_arg_cmp unix_only = arg_cmp (0, SCMP_CMP_EQ, AF_UNIX, 0);
    /* abort () signals the process itself.  */
    struct scmp_arg_cmp self = arg_cmp (0, SCMP_CMP_EQ, (scmp_datum_t) pid, 0);

    if (add_rule (ctx, "socket", 1, &unix_only, err) < 0 || add_rule (ctx, "tgkill", 1, &self, err) < 0)
      return -1;
  }
  if (textfile)
    {
      /* The metrics textfile (metrics.c's write_and_rename): the new file
         swapped with the textfile (RENAME_EXCHANGE) or renamed over it,
         and the old one removed, no other flags.  Landlock confines them,
         and the create below, to that directory (sandbox.c).  */
      struct scmp_arg_cmp no_flags_2 = arg_cmp (2, SCMP_CMP_EQ, 0, 0);
      struct scmp_arg_cmp no_flags_4 = arg_cmp (4, SCMP_CMP_EQ, 0, 0);
      struct scmp_arg_cmp exchange_4 = arg_cmp (4, SCMP_CMP_EQ, RENAME_EXCHANGE, 0);

      /* fstatat: is the textfile a directory (metrics.c).  */
      if (add_rule (ctx, "newfstatat", 0, NULL, err) < 0 || add_rule (ctx, "renameat", 0, NULL, err) < 0
          || add_rule (ctx, "renameat2", 1, &no_flags_4, err) < 0
          || add_rule (ctx, "renameat2", 1, &exchange_4, err) < 0
          || add_rule (ctx, "unlinkat", 1, &no_flags_2, err) < 0)
        return -1;
    }
#ifndef PG_SANITIZER_BUILD
  if (textfile)
    {
      /* A new file, write-only, never an existing one.  */
      const scmp_datum_t mask = O_ACCMODE | O_CREAT | O_TRUNC | O_EXCL;
      struct scmp_arg_cmp create_at = arg_cmp (2, SCMP_CMP_MASKED_EQ, mask, O_WRONLY | O_CREAT | O_EXCL);

      if (add_rule (ctx, "openat", 1, &create_at, err) < 0)
        return -1;
    }
  {
    /* Memory is never made executable.  */
    struct scmp_arg_cmp noexec = arg_cmp (2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);

    if (add_rule (ctx, "mmap", 1, &noexec, err) < 0 || add_rule (ctx, "mprotect", 1, &noexec, err) < 0)
      return -1;
  }
#endif

  *out = ctx;
  ctx = NULL;
  return 0;
}
