/* The hook's sandbox (hook/sandbox.h), from the same code the hook runs:
   each case forks, the child enters the sandbox and does one thing, and the
   parent checks how the child ended.  A forbidden syscall must kill it with
   SIGSYS; what the decision and the logging need must work.  The production
   hook has no test switch: this binary is the test.  */
#include "suite.h"
#include "sandbox.h"
#include "seccomp_rules.h"
#include "index/index.h"
#include "rules/policy_cache.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <seccomp_bpf.h> /* generated: the program the hook loads */

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

typedef int (*child_fn) (void *data);

/* Run FN in a child; returns its wait status.  */
static int
in_child (child_fn fn, void *data)
{
  int status = 0;
  pid_t pid;

  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    fail_msg ("fork: %s", strerror (errno));
  if (pid == 0)
    _exit (fn (data));
  if (waitpid (pid, &status, 0) < 0)
    fail_msg ("waitpid: %s", strerror (errno));
  return status;
}

static int
enter (void)
{
  pg_error_t err = NULL;
  if (pg_sandbox_init_caps (&err) < 0 || pg_sandbox_enter (&err) < 0)
    {
      fprintf (stderr, "sandbox: %s\n", err->msg);
      _exit (90);
    }
  return 0;
}

static void
expect_sigsys (const char *what, int status)
{
  if (!WIFSIGNALED (status) || WTERMSIG (status) != SIGSYS)
    fail_msg ("%s: expected death by SIGSYS, got %s %d", what, WIFSIGNALED (status) ? "signal" : "exit",
              WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
}

static void
expect_exit0 (const char *what, int status)
{
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    fail_msg ("%s: expected exit 0, got %s %d", what, WIFSIGNALED (status) ? "signal" : "exit",
              WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
}

/* ---- forbidden: each must die by SIGSYS ---- */

static int
do_execve (void *data)
{
  char *argv[] = { (char *) "true", NULL };
  enter ();
  execve ("/bin/true", argv, environ);
  return 1;
}

static int
do_socket_inet (void *data)
{
  enter ();
  return socket (AF_INET, SOCK_STREAM, 0) >= 0 ? 1 : 2;
}

static int
do_unshare (void *data)
{
  enter ();
  unshare (CLONE_NEWNS);
  return 1;
}

static int
do_setuid (void *data)
{
  enter ();
  return setuid (65534) == 0 ? 1 : 2;
}

static int
do_mount (void *data)
{
  enter ();
  mount ("none", "/tmp", "tmpfs", 0, NULL);
  return 1;
}

static int
do_openat2 (void *data)
{
  enter ();
  syscall (SYS_openat2, AT_FDCWD, "/etc/hostname", NULL, 0);
  return 1;
}

static int
do_open_write (void *data)
{
  enter ();
  open ("/tmp/patchgate-sandbox-must-not-exist", O_WRONLY | O_CREAT, 0600);
  return 1;
}

static int
do_open_rdwr (void *data)
{
  enter ();
  open ("/etc/hostname", O_RDWR);
  return 1;
}

/* Every input is read, and the index opened, before the sandbox: nothing
   is opened or stat'ed in it, not even read-only.  */
static int
do_open_read (void *data)
{
  enter ();
  open ("/etc/hostname", O_RDONLY | O_CLOEXEC);
  return 1;
}

static int
do_stat (void *data)
{
  struct stat st;

  enter ();
  stat ("/etc/hostname", &st);
  return 1;
}

static int
do_mmap_exec (void *data)
{
  enter ();
  mmap (NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return 1;
}

static int
do_ptrace (void *data)
{
  enter ();
  ptrace (PTRACE_TRACEME, 0, NULL, NULL);
  return 1;
}

/* The hook reads no SQLite database any more: no locks.  */
static int
do_fcntl_lock (void *data)
{
  struct flock l = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
  int fd = open ("/etc/hostname", O_RDONLY | O_CLOEXEC);

  enter ();
  fcntl (fd, F_SETLK, &l);
  return 1;
}

static int
do_kill_other (void *data)
{
  enter ();
  syscall (SYS_tgkill, 1, 1, 0);
  return 1;
}

static void
test_forbidden_syscalls_kill (void **state)
{
  static const struct
  {
    const char *what;
    child_fn fn;
    bool also_sanitized; /* the SANITIZE=1 allowlist is wider */
  } cases[] = {
    { "execve", do_execve, true },
    { "socket(AF_INET)", do_socket_inet, true },
    { "unshare", do_unshare, true },
    { "setuid", do_setuid, true },
    { "mount", do_mount, true },
    { "openat2", do_openat2, true },
    { "tgkill(another process)", do_kill_other, true },
    { "open(O_WRONLY|O_CREAT)", do_open_write, false },
    { "open(O_RDWR)", do_open_rdwr, false },
    { "open(O_RDONLY)", do_open_read, false },
    { "stat", do_stat, false },
    { "mmap(PROT_EXEC)", do_mmap_exec, false },
    { "ptrace", do_ptrace, false },
    { "fcntl(F_SETLK)", do_fcntl_lock, false },
  };

  unlink ("/tmp/patchgate-sandbox-must-not-exist");
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      if (SANITIZED && !cases[i].also_sanitized)
        continue;
      expect_sigsys (cases[i].what, in_child (cases[i].fn, NULL));
    }
  if (!SANITIZED)
    assert_int_equal (access ("/tmp/patchgate-sandbox-must-not-exist", F_OK), -1);
}

/* ---- allowed: what the decision and the log need ---- */

static char db_path[] = "/tmp/patchgate-sandbox-XXXXXX";
static char *idx_path;

static int
do_decision_work (void *data)
{
  pg_index *idx = NULL;
  pg_error_t err = NULL;
  struct pg_decision d;
  struct pg_context ctx = { 0 };
  int s;
  void *big;

  /* Opened before the sandbox, as gate_prepare does.  */
  if (index_open (idx_path, NULL, &idx, &err) < 0)
    return 18;
  enter ();
  /* The decision, from the open index: the hook's.  */
  ctx.digest = "sha256:0000000000000000000000000000000000000000000000000000000000000001";
  if (index_decide (idx, &ctx, 1800000000, &d, &err) < 0 || d.verdict != PG_VERDICT_DENY)
    return 19;
  pg_decision_free (&d);
  index_close (idx);
  /* Memory, time, a unix socket for syslog, stderr.  */
  big = malloc (64 << 20);
  if (big == NULL)
    return 14;
  memset (big, 1, 64 << 20);
  free (big);
  s = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return 15;
  close (s);
  if (write (STDERR_FILENO, "", 0) < 0)
    return 16;
  return getpid () > 0 ? 0 : 17;
}

static void
test_decision_work_allowed (void **state)
{
  pg_store *store = NULL;
  pg_error_t err = NULL;
  int fd = mkstemp (db_path);

  assert_true (fd >= 0);
  close (fd);
  unlink (db_path);
  if (store_open (db_path, PG_STORE_CREATE, &store, &err) < 0)
    fail_msg ("%s", err->msg);
  {
    static const char policy[] = "{\"version\": \"sandbox\", \"defaults\": {\"unscanned\": \"deny\"}}";
    idx_path = index_path_for_db (db_path);
    if (store_begin (store, true, &err) < 0 || policy_store_set (store, policy, "sandbox", 1, &err) < 0
        || store_commit (store, &err) < 0 || index_compile (store, idx_path, 1, NULL, &err) < 0)
      fail_msg ("%s", err->msg);
  }
  store_close (store);
  expect_exit0 ("index reads, logging, memory", in_child (do_decision_work, NULL));
  unlink (db_path);
  unlink (idx_path);
  {
    cleanup_free char *lock = NULL;
    xasprintf (&lock, "%s.lock", idx_path);
    unlink (lock);
  }
  free (idx_path);
}

/* The programs the hook loads (built at compile time, seccomp_gen) are one
   load of the instruction pointer (which spares the kernel its cache of
   always-allowed syscalls at load), then the ones libseccomp builds from
   the rules for this process, byte for byte: the allowlist, and the one
   for a hook that publishes the metrics textfile.  */
static void
check_prebuilt (const struct sock_filter *built, size_t n, size_t pid_insn, bool textfile)
{
  struct sock_filter prog[256];
  scmp_filter_ctx ctx = NULL;
  pg_error_t err = NULL;
  cleanup_free char *bpf = NULL;
  size_t len = 0;
  int fd;

  assert_true (n <= sizeof (prog) / sizeof (prog[0]));
  memcpy (prog, built, n * sizeof (prog[0]));
  assert_int_equal (prog[pid_insn].k, PG_SECCOMP_PID_PLACEHOLDER);
  prog[pid_insn].k = (uint32_t) getpid ();
  if (pg_seccomp_rules ((uint32_t) getpid (), textfile, &ctx, &err) < 0)
    fail_msg ("%s", err->msg);
  fd = memfd_create ("bpf", 0);
  assert_true (fd >= 0);
  assert_int_equal (seccomp_export_bpf (ctx, fd), 0);
  seccomp_release (ctx);
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  assert_int_equal (read_all_fd (fd, "bpf", 1 << 20, &bpf, &len, &err), 0);
  close (fd);
  assert_int_equal (prog[0].code, BPF_LD | BPF_W | BPF_ABS);
  assert_int_equal (prog[0].k, offsetof (struct seccomp_data, instruction_pointer));
  assert_int_equal (len, (n - 1) * sizeof (prog[0]));
  assert_memory_equal (bpf, prog + 1, len);
}

static void
test_prebuilt_filter (void **state)
{
  check_prebuilt (pg_seccomp_bpf, sizeof (pg_seccomp_bpf) / sizeof (pg_seccomp_bpf[0]), PG_SECCOMP_PID_INSN,
                  false);
  check_prebuilt (pg_seccomp_bpf_textfile,
                  sizeof (pg_seccomp_bpf_textfile) / sizeof (pg_seccomp_bpf_textfile[0]),
                  PG_SECCOMP_TEXTFILE_PID_INSN, true);
}

/* ---- the metrics textfile: writes confined to its directory ---- */

static char textfile_dir[] = "/tmp/patchgate-textfile-XXXXXX";
static char outside_dir[] = "/tmp/patchgate-outside-XXXXXX";

/* Enter the sandbox as a hook that publishes into textfile_dir does.  */
static int
enter_textfile (void)
{
  pg_error_t err = NULL;
  int dirfd = open (textfile_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (dirfd < 0 || pg_sandbox_init_caps (&err) < 0 || pg_sandbox_confine_writes (dirfd, &err) < 0
      || pg_sandbox_enter (&err) < 0)
    {
      fprintf (stderr, "sandbox: %s\n", err ? err->msg : strerror (errno));
      _exit (90);
    }
  return dirfd;
}

/* What publishing does, in the directory: allowed.  Outside it: refused by
   Landlock (EACCES, or EXDEV for a rename across), not killed.  */
static int
do_textfile_work (void *data)
{
  int dirfd = enter_textfile ();
  char out_new[64], out_old[64];
  int fd;

  fd = openat (dirfd, ".t.prom.1", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, "x 1\n", 4) != 4 || close (fd) < 0)
    return 30;
  if (renameat (dirfd, ".t.prom.1", dirfd, "t.prom") < 0)
    return 31;
  fd = openat (dirfd, ".t.prom.2", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 || close (fd) < 0 || renameat (dirfd, ".t.prom.2", dirfd, "t.prom") < 0)
    return 32;
  fd = openat (dirfd, ".t.prom.3", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 || close (fd) < 0 || renameat2 (dirfd, ".t.prom.3", dirfd, "t.prom", RENAME_EXCHANGE) < 0
      || unlinkat (dirfd, ".t.prom.3", 0) < 0)
    return 33;
  if (SANITIZED)
    return 0; /* no Landlock in sanitizer builds */
  snprintf (out_new, sizeof (out_new), "%s/new", outside_dir);
  snprintf (out_old, sizeof (out_old), "%s/old", outside_dir);
  fd = open (out_new, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd >= 0 || errno != EACCES)
    return 34;
  if (renameat (AT_FDCWD, out_old, AT_FDCWD, out_new) == 0 || errno != EACCES)
    return 35;
  if (renameat (AT_FDCWD, out_old, dirfd, "stolen") == 0 || (errno != EACCES && errno != EXDEV))
    return 36;
  if (unlinkat (AT_FDCWD, out_old, 0) == 0 || errno != EACCES)
    return 37;
  if (renameat2 (AT_FDCWD, out_old, AT_FDCWD, out_new, RENAME_EXCHANGE) == 0
      || (errno != EACCES && errno != ENOENT))
    return 38;
  return 0;
}

static int
do_textfile_trunc (void *data)
{
  int dirfd = enter_textfile ();
  openat (dirfd, "t.prom", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  return 1;
}

static int
do_textfile_rdwr (void *data)
{
  int dirfd = enter_textfile ();
  openat (dirfd, "u.prom", O_RDWR | O_CREAT | O_EXCL, 0644);
  return 1;
}

static int
do_plain_rename (void *data)
{
  enter ();
  renameat (AT_FDCWD, "/tmp/patchgate-sandbox-a", AT_FDCWD, "/tmp/patchgate-sandbox-b");
  return 1;
}

static int
do_textfile_noreplace (void *data)
{
  int dirfd = enter_textfile ();
  renameat2 (dirfd, "t.prom", dirfd, "v.prom", RENAME_NOREPLACE | RENAME_WHITEOUT);
  return 1;
}

static int
do_plain_unlink (void *data)
{
  enter ();
  unlinkat (AT_FDCWD, "/tmp/patchgate-sandbox-a", 0);
  return 1;
}

static void
test_textfile_confined (void **state)
{
  char path[96];
  int fd;

  assert_non_null (mkdtemp (textfile_dir));
  assert_non_null (mkdtemp (outside_dir));
  snprintf (path, sizeof (path), "%s/old", outside_dir);
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  assert_true (fd >= 0);
  close (fd);
  expect_exit0 ("publishing in the textfile's directory, nothing outside", in_child (do_textfile_work, NULL));
  /* The sanitizer allowlist opens anything.  */
  if (!SANITIZED)
    {
      expect_sigsys ("openat(O_TRUNC) in the textfile's directory", in_child (do_textfile_trunc, NULL));
      expect_sigsys ("openat(O_RDWR|O_CREAT) in the textfile's directory", in_child (do_textfile_rdwr, NULL));
      expect_sigsys ("renameat2(RENAME_WHITEOUT) in the textfile's directory",
                     in_child (do_textfile_noreplace, NULL));
    }
  /* Without the textfile: no rename, no unlink.  */
  expect_sigsys ("renameat without the textfile", in_child (do_plain_rename, NULL));
  expect_sigsys ("unlinkat without the textfile", in_child (do_plain_unlink, NULL));
  assert_int_equal (access (path, F_OK), 0);
  snprintf (path, sizeof (path), "%s/t.prom", textfile_dir);
  assert_int_equal (access (path, F_OK), 0);
  unlink (path);
  snprintf (path, sizeof (path), "%s/old", outside_dir);
  unlink (path);
  rmdir (textfile_dir);
  rmdir (outside_dir);
}

/* ---- capabilities ---- */

static char secret_path[] = "/tmp/patchgate-secret-XXXXXX";

static bool
has_cap (cap_t c, cap_value_t v, cap_flag_t flag)
{
  cap_flag_value_t f = CAP_CLEAR;
  return cap_get_flag (c, v, flag, &f) == 0 && f == CAP_SET;
}

/* The permitted set of a program exec'd now (grep reading its own
   /proc/self/status) holds at most CAP_DAC_READ_SEARCH.  */
static bool
exec_gains_nothing (void)
{
  FILE *f = popen ("exec grep '^CapPrm:' /proc/self/status", "r");
  unsigned long long prm = ~0ULL;
  int n;

  if (f == NULL)
    return false;
  n = fscanf (f, "CapPrm: %llx", &prm);
  if (pclose (f) != 0 || n != 1)
    return false;
  return (prm & ~(1ULL << CAP_DAC_READ_SEARCH)) == 0;
}

static int
do_caps (void *data)
{
  pg_error_t err = NULL;
  cap_t c;
  int fd;

  if (pg_sandbox_init_caps (&err) < 0)
    return 20;
  if (prctl (PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
    return 21;
  c = cap_get_proc ();
  /* Only CAP_DAC_READ_SEARCH is left.  */
  for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
    if (v != CAP_DAC_READ_SEARCH && (has_cap (c, v, CAP_EFFECTIVE) || has_cap (c, v, CAP_PERMITTED)))
      return 22;
  if (!has_cap (c, CAP_DAC_READ_SEARCH, CAP_EFFECTIVE))
    return 23;
  cap_free (c);
  /* A program it might be made to exec gains nothing beyond that (root's
     exec would otherwise fill the permitted set from the bounding set).  */
  if (!exec_gains_nothing ())
    return 24;
  /* It reads a file of another user's, mode 0600 ...  */
  fd = open (secret_path, O_RDONLY);
  if (fd < 0)
    return 25;
  close (fd);
  /* ... and no longer once every capability is gone.  */
  if (pg_sandbox_drop_caps (&err) < 0)
    return 26;
  c = cap_get_proc ();
  if (has_cap (c, CAP_DAC_READ_SEARCH, CAP_EFFECTIVE) || has_cap (c, CAP_DAC_READ_SEARCH, CAP_PERMITTED))
    return 27;
  cap_free (c);
  fd = open (secret_path, O_RDONLY);
  if (fd >= 0 || errno != EACCES)
    return 28;
  /* Root's CAP_DAC_OVERRIDE was never kept: no write either.  */
  fd = open (secret_path, O_WRONLY);
  if (fd >= 0 || errno != EACCES)
    return 29;
  return 0;
}

static void
test_capabilities (void **state)
{
  int fd, status;

  if (geteuid () != 0)
    skip (); /* make check runs as root */
  fd = mkstemp (secret_path);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "secret\n", 7), 7);
  close (fd);
  assert_int_equal (chown (secret_path, 65534, 65534), 0);
  assert_int_equal (chmod (secret_path, 0600), 0);
  status = in_child (do_caps, NULL);
  unlink (secret_path);
  expect_exit0 ("capabilities", status);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_forbidden_syscalls_kill),
    cmocka_unit_test (test_decision_work_allowed),
    cmocka_unit_test (test_capabilities),
    cmocka_unit_test (test_prebuilt_filter),
    cmocka_unit_test (test_textfile_confined),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
