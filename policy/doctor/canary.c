/* The canary (doctor/canary.h): built with umoci, started through podman
 * and a bare runtime, judged by what the engine printed.  Every program is
 * run with its output captured, never shown; nothing here prints.  */
#include "doctor/canary.h"
#include "base/file.h"
#include "base/json.h"
#include "doctor/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define CANARY_MARK "patchgate-canary-ran"
#define CANARY_TIMEOUT_S 120

/* Run, and fail unless it exits 0 (the message quotes its output).  */
static int
run_ok (char *const *argv, pg_error_t *err)
{
  cleanup_free char *out = NULL;
  int status;
  if (pg_run_capture (argv, NULL, CANARY_TIMEOUT_S, &out, &status, err) < 0)
    return -1;
  if (status != 0)
    return pg_make_error (err, 0, "%s %s failed (exit %d): %.400s", argv[0], argv[1] ? argv[1] : "", status,
                          out);
  return 0;
}

static int
copy_file (const char *from, const char *to, mode_t mode, pg_error_t *err)
{
  cleanup_free char *buf = NULL;
  cleanup_close int fd = -1;
  size_t len;

  if (read_all_file (from, 64u << 20, &buf, &len, err) < 0)
    return -1;
  fd = open (to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return pg_make_error (err, errno, "%s", to);
  return pg_write_all (fd, buf, len, to, err);
}

static char *
find_in_path (const char *prog)
{
  const char *path = getenv ("PATH");
  cleanup_free char *copy = xstrdup (path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
  char *save = NULL;
  for (char *d = strtok_r (copy, ":", &save); d; d = strtok_r (NULL, ":", &save))
    {
      char *cand = NULL;
      xasprintf (&cand, "%s/%s", d, prog);
      if (access (cand, X_OK) == 0)
        return cand;
      free (cand);
    }
  return NULL;
}

static void
random_hex (char *out, size_t bytes)
{
  unsigned char r[32];
  if (bytes > sizeof (r))
    bytes = sizeof (r);
  if (getrandom (r, bytes, 0) != (ssize_t) bytes)
    {
      /* Without getrandom, the time and pid are new enough for a tag.  */
      unsigned long long v = (unsigned long long) time (NULL) ^ ((unsigned long long) getpid () << 32);
      memcpy (r, &v, bytes < sizeof (v) ? bytes : sizeof (v));
    }
  for (size_t i = 0; i < bytes; i++)
    sprintf (out + 2 * i, "%02x", r[i]);
}

int
pg_canary_build (struct pg_canary *c, pg_error_t *err)
{
  const char *tmp = getenv ("TMPDIR");
  cleanup_free char *image = NULL;
  cleanup_free char *build = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *busybox = NULL;
  char nonce[65];

  memset (c, 0, sizeof (*c));
  xasprintf (&c->dir, "%s/patchgate-canary.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp (c->dir) == NULL)
    {
      int e = errno;
      free (c->dir);
      c->dir = NULL;
      return pg_make_error (err, e, "mkdtemp");
    }
  random_hex (nonce, 4);
  xasprintf (&c->tag, "patchgate-canary-%s", nonce);
  xasprintf (&c->layout, "%s/oci", c->dir);
  xasprintf (&c->archive, "%s/canary.tar", c->dir);
  xasprintf (&image, "%s:%s", c->layout, c->tag);
  xasprintf (&build, "%s/build", c->dir);
  busybox = find_in_path ("busybox");
  if (busybox == NULL)
    return pg_make_error (err, 0, "the canary needs busybox (static: Debian's busybox-static) in PATH");
  {
    char *init[] = { "umoci", "init", "--layout", c->layout, NULL };
    char *new_[] = { "umoci", "new", "--image", image, NULL };
    char *unpack[] = { "umoci", "unpack", "--image", image, build, NULL };
    if (run_ok (init, err) < 0 || run_ok (new_, err) < 0 || run_ok (unpack, err) < 0)
      return pg_error_wrap (err, "building the canary image");
  }
  xasprintf (&path, "%s/rootfs/bin", build);
  if (mkdir (path, 0755) < 0 && errno != EEXIST)
    return pg_make_error (err, errno, "%s", path);
  free (path);
  xasprintf (&path, "%s/rootfs/bin/busybox", build);
  if (copy_file (busybox, path, 0755, err) < 0)
    return -1;
  free (path);
  xasprintf (&path, "%s/rootfs/bin/sh", build);
  if (symlink ("busybox", path) < 0)
    return pg_make_error (err, errno, "%s", path);
  free (path);
  /* What makes this image's digest new: no scan can have named it.  */
  random_hex (nonce, 16);
  xasprintf (&path, "%s/rootfs/patchgate-canary", build);
  if (pg_write_file_atomic (path, nonce, strlen (nonce), err) < 0)
    return -1;
  {
    char *repack[] = { "umoci", "repack", "--image", image, build, NULL };
    char *config[] = { "umoci", "config", "--image", image, "--config.cmd", "/bin/sh", NULL };
    char *tar[] = { "tar", "-C", c->layout, "-cf", c->archive, ".", NULL };
    cleanup_free char *rootfs = NULL;
    if (run_ok (repack, err) < 0 || run_ok (config, err) < 0 || run_ok (tar, err) < 0)
      return pg_error_wrap (err, "building the canary image");
    /* The same files as a plain rootfs tarball, for `docker import`.  */
    xasprintf (&rootfs, "%s/rootfs", build);
    xasprintf (&c->rootfs_tar, "%s/rootfs.tar", c->dir);
    {
      char *tar_rootfs[] = { "tar", "-C", rootfs, "-cf", c->rootfs_tar, ".", NULL };
      if (run_ok (tar_rootfs, err) < 0)
        return pg_error_wrap (err, "building the canary image");
    }
  }
  return 0;
}

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (flag == FTW_DP)
    rmdir (path);
  else
    unlink (path);
  return 0;
}

void
pg_canary_free (struct pg_canary *c)
{
  if (c->dir)
    nftw (c->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free (c->dir);
  free (c->tag);
  free (c->layout);
  free (c->archive);
  free (c->rootfs_tar);
  memset (c, 0, sizeof (*c));
}

/* The line of OUT that patchgate-hook wrote: its refusal ("patchgate:
   refused ..."), else its decision line (on stderr when syslog is down),
   else any line of its, else the last 300 bytes.  It ends at a newline,
   or at an escaped one (runc quotes the hook's stderr).  */
static char *
hook_line (const char *out)
{
  static const char *const marks[] = { "patchgate: refused", "decision=deny", "patchgate: " };
  size_t len = strlen (out);
  for (size_t i = 0; i < sizeof (marks) / sizeof (marks[0]); i++)
    {
      const char *p = strstr (out, marks[i]);
      const char *e;
      if (p == NULL)
        continue;
      for (e = p; *e && *e != '\n' && !(e[0] == '\\' && e[1] == 'n'); e++)
        ;
      return strndup (p, (size_t) (e - p));
    }
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '))
    len--;
  return strndup (len > 300 ? out + len - 300 : out, len > 300 ? 300 : len);
}

/* Judge one start: the canary's output line means it ran; patchgate's
   "refused" line means it was refused.  */
static void
judge (struct pg_doctor_report *r, const char *engine, const char *how, int status, const char *out)
{
  cleanup_free char *line = hook_line (out);
  if (strstr (out, CANARY_MARK "\n") || (status == 0 && strstr (out, CANARY_MARK)))
    pg_doctor_add (r, engine, "canary", PG_DOCTOR_FAIL, NULL,
                   "%s: the canary (an image no scan has seen) RAN: %s does not enforce (not wired, or the "
                   "policy lets unscanned images run)",
                   how, engine);
  else if (status != 0 && (strstr (out, "patchgate: refused container") || strstr (out, "decision=deny")))
    pg_doctor_add (r, engine, "canary", PG_DOCTOR_OK, NULL, "%s: refused: %s", how, line);
  else if (status != 0 && strstr (out, "patchgate: "))
    pg_doctor_add (r, engine, "canary", PG_DOCTOR_OK, NULL, "%s: refused, by an error of patchgate's: %s",
                   how, line);
  else
    pg_doctor_add (r, engine, "canary", PG_DOCTOR_FAIL, NULL,
                   "%s: exit %d without a word from patchgate, so nothing is proven: %s", how, status, line);
}

void
pg_canary_podman (struct pg_canary *c, char *const *global_args, size_t n_args, const char *containers_conf,
                  struct pg_doctor_report *r)
{
  cleanup_error pg_error_t err = NULL;
  cleanup_free char *name = NULL;
  cleanup_free char *ann = NULL;
  cleanup_free char *stderr_file = NULL;
  cleanup_free char *out = NULL;
  cleanup_free char *env_conf = NULL;
  char *env[2] = { NULL, NULL };
  char **argv = NULL;
  size_t n = 0;
  int status;

  xasprintf (&name, "localhost/%s:latest", c->tag);
  xasprintf (&stderr_file, "%s/podman-hook-stderr", c->dir);
  /* crun (podman's default runtime on Debian) shows a hook's stderr only
     in this file.  */
  xasprintf (&ann, "run.oci.hooks.stderr=%s", stderr_file);
  if (containers_conf)
    {
      xasprintf (&env_conf, "CONTAINERS_CONF=%s", containers_conf);
      env[0] = env_conf;
    }
  strv_append (&argv, &n, "podman");
  for (size_t i = 0; i < n_args; i++)
    strv_append (&argv, &n, global_args[i]);
  {
    size_t base = n;
    strv_append (&argv, &n, "load");
    strv_append (&argv, &n, "-q");
    strv_append (&argv, &n, "-i");
    strv_append (&argv, &n, c->archive);
    strv_append (&argv, &n, NULL);
    if (pg_run_capture (argv, env, CANARY_TIMEOUT_S, &out, &status, &err) < 0 || status != 0)
      {
        pg_doctor_add (r, "podman", "canary", PG_DOCTOR_FAIL, NULL,
                       "podman load of the canary failed: %.400s", err ? err->msg : out);
        strv_free (argv, n);
        return;
      }
    free (out);
    out = NULL;
    for (size_t i = base; i < n; i++)
      free (argv[i]);
    n = base;
  }
  {
    const char *run[] = { "run",          "--rm", "--pull", "never",   "--network", "none",
                          "--annotation", ann,    name,     "/bin/sh", "-c",        "echo " CANARY_MARK };
    size_t base = n;
    for (size_t i = 0; i < sizeof (run) / sizeof (run[0]); i++)
      strv_append (&argv, &n, run[i]);
    strv_append (&argv, &n, NULL);
    if (pg_run_capture (argv, env, CANARY_TIMEOUT_S, &out, &status, &err) < 0)
      pg_doctor_add (r, "podman", "canary", PG_DOCTOR_FAIL, NULL, "%s", err->msg);
    else
      {
        cleanup_free char *hook_err = NULL;
        cleanup_free char *all = NULL;
        size_t len;
        cleanup_error pg_error_t ignored = NULL;
        if (read_all_file (stderr_file, 65536, &hook_err, &len, &ignored) < 0)
          hook_err = xstrdup ("");
        xasprintf (&all, "%s%s", out, hook_err);
        judge (r, "podman", "podman run", status, all);
      }
    for (size_t i = base; i < n; i++)
      free (argv[i]);
    n = base;
  }
  {
    cleanup_free char *rm_out = NULL;
    cleanup_error pg_error_t rm_err = NULL;
    strv_append (&argv, &n, "rmi");
    strv_append (&argv, &n, "-f");
    strv_append (&argv, &n, name);
    strv_append (&argv, &n, NULL);
    pg_run_capture (argv, env, CANARY_TIMEOUT_S, &rm_out, &status, &rm_err);
  }
  strv_free (argv, n);
}

/* config.json of the unpacked canary: the snippet's hooks, a command that
   says it ran, no terminal.  */
static int
wire_bundle (const char *bundle, const char *snippet, const char *hook_stderr, pg_error_t *err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  cleanup_json json_t *cfg = NULL;
  cleanup_json json_t *snip = NULL;
  json_t *process, *hooks, *ann, *linux_;

  if (pg_json_load_file (snippet, PG_MAX_HOOK_CONFIG_SIZE, &snip, err) < 0)
    return -1;
  hooks = json_object_get (snip, "hooks");
  if (!json_is_object (hooks))
    return pg_make_error (err, 0, "%s: no \"hooks\" object", snippet);
  xasprintf (&path, "%s/config.json", bundle);
  if (pg_json_load_file (path, PG_MAX_CONFIG_SIZE, &cfg, err) < 0)
    return -1;
  process = json_object_get (cfg, "process");
  if (!json_is_object (process))
    return pg_make_error (err, 0, "%s: no process", path);
  json_object_set_new (process, "args", json_pack ("[sss]", "/bin/sh", "-c", "echo " CANARY_MARK));
  json_object_set_new (process, "terminal", json_false ());
  json_object_set (cfg, "hooks", hooks);
  ann = json_object_get (cfg, "annotations");
  if (!json_is_object (ann))
    {
      ann = json_object ();
      json_object_set_new (cfg, "annotations", ann);
    }
  json_object_set_new (ann, "run.oci.hooks.stderr", json_string (hook_stderr));
  /* As the tests' bundles: no cgroup limits, which a VM's hybrid
     hierarchy may refuse.  */
  linux_ = json_object_get (cfg, "linux");
  if (json_is_object (linux_))
    json_object_del (linux_, "resources");
  text = json_dumps (cfg, JSON_INDENT (2));
  if (text == NULL)
    return pg_make_error (err, 0, "%s: cannot serialise", path);
  return pg_write_file_atomic (path, text, strlen (text), err);
}

void
pg_canary_bare (struct pg_canary *c, const char *runtime, const char *snippet, struct pg_doctor_report *r)
{
  cleanup_error pg_error_t err = NULL;
  cleanup_free char *bundle = NULL;
  cleanup_free char *image = NULL;
  cleanup_free char *root = NULL;
  cleanup_free char *id = NULL;
  cleanup_free char *out = NULL;
  cleanup_free char *hook_stderr = NULL;
  cleanup_free char *how = NULL;
  int status;

  xasprintf (&bundle, "%s/bundle-%s", c->dir, runtime);
  xasprintf (&image, "%s:%s", c->layout, c->tag);
  xasprintf (&root, "%s/%s-root", c->dir, runtime);
  xasprintf (&id, "%s-%d", c->tag, (int) getpid ());
  xasprintf (&hook_stderr, "%s/hook-stderr", bundle);
  xasprintf (&how, "%s run (%s)", runtime, snippet);
  {
    char *unpack[] = { "umoci", "unpack", "--image", image, bundle, NULL };
    if (run_ok (unpack, &err) < 0 || wire_bundle (bundle, snippet, hook_stderr, &err) < 0)
      {
        pg_doctor_add (r, runtime, "canary", PG_DOCTOR_FAIL, snippet, "the canary bundle: %s", err->msg);
        return;
      }
  }
  {
    char *run[] = { (char *) runtime, "--root", root, "run", "--bundle", bundle, id, NULL };
    if (pg_run_capture (run, NULL, CANARY_TIMEOUT_S, &out, &status, &err) < 0)
      pg_doctor_add (r, runtime, "canary", PG_DOCTOR_FAIL, snippet, "%s", err->msg);
    else
      {
        cleanup_free char *hook_err = NULL;
        cleanup_free char *all = NULL;
        size_t len;
        cleanup_error pg_error_t ignored = NULL;
        if (read_all_file (hook_stderr, 65536, &hook_err, &len, &ignored) < 0)
          hook_err = xstrdup ("");
        xasprintf (&all, "%s%s", out, hook_err);
        judge (r, runtime, how, status, all);
      }
  }
  {
    char *del[] = { (char *) runtime, "--root", root, "delete", "-f", id, NULL };
    cleanup_free char *del_out = NULL;
    cleanup_error pg_error_t del_err = NULL;
    pg_run_capture (del, NULL, CANARY_TIMEOUT_S, &del_out, &status, &del_err);
  }
}

void
pg_canary_docker (struct pg_canary *c, const char *host, struct pg_doctor_report *r)
{
  cleanup_error pg_error_t err = NULL;
  cleanup_free char *name = NULL;
  cleanup_free char *out = NULL;
  char **argv = NULL;
  size_t n = 0, base;
  int status;

  xasprintf (&name, "%s:latest", c->tag);
  strv_append (&argv, &n, "docker");
  if (host)
    {
      strv_append (&argv, &n, "-H");
      strv_append (&argv, &n, host);
    }
  base = n;
  strv_append (&argv, &n, "version");
  strv_append (&argv, &n, NULL);
  if (pg_run_capture (argv, NULL, 30, &out, &status, &err) < 0 || status != 0)
    {
      pg_doctor_add (r, "docker", "canary", PG_DOCTOR_INFO, NULL,
                     "dockerd is not reachable%s%s: no canary (its wiring is checked above)",
                     host ? " at " : "", host ? host : "");
      strv_free (argv, n);
      return;
    }
  {
    const char *imp[] = { "import", c->rootfs_tar, name };
    for (size_t i = base; i < n; i++)
      free (argv[i]);
    n = base;
    for (size_t i = 0; i < 3; i++)
      strv_append (&argv, &n, imp[i]);
    strv_append (&argv, &n, NULL);
    free (out);
    out = NULL;
    if (pg_run_capture (argv, NULL, CANARY_TIMEOUT_S, &out, &status, &err) < 0 || status != 0)
      {
        pg_doctor_add (r, "docker", "canary", PG_DOCTOR_FAIL, NULL,
                       "docker import of the canary failed: %.400s", err ? err->msg : out);
        strv_free (argv, n);
        return;
      }
  }
  {
    const char *run[] = { "run", "--rm", "--network", "none", name, "/bin/sh", "-c", "echo " CANARY_MARK };
    for (size_t i = base; i < n; i++)
      free (argv[i]);
    n = base;
    for (size_t i = 0; i < sizeof (run) / sizeof (run[0]); i++)
      strv_append (&argv, &n, run[i]);
    strv_append (&argv, &n, NULL);
    free (out);
    out = NULL;
    if (pg_run_capture (argv, NULL, CANARY_TIMEOUT_S, &out, &status, &err) < 0)
      pg_doctor_add (r, "docker", "canary", PG_DOCTOR_FAIL, NULL, "%s", err->msg);
    else
      judge (r, "docker", "docker run", status, out);
  }
  {
    cleanup_free char *rm_out = NULL;
    cleanup_error pg_error_t rm_err = NULL;
    for (size_t i = base; i < n; i++)
      free (argv[i]);
    n = base;
    strv_append (&argv, &n, "rmi");
    strv_append (&argv, &n, "-f");
    strv_append (&argv, &n, name);
    strv_append (&argv, &n, NULL);
    pg_run_capture (argv, NULL, CANARY_TIMEOUT_S, &rm_out, &status, &rm_err);
  }
  strv_free (argv, n);
}
