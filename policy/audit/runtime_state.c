/* The runtimes' state roots, read as runc and crun read them
 * (libcontainer's state.json and crun's status file; runc's
 * libcontainer/container_linux.go and crun's src/libcrun/status.c).  The
 * roots are root's, but runc's state.json carries the container's
 * annotations (config.labels), which whoever made the bundle wrote: every
 * read is bounded and opened below its root with no symlink on the way
 * (base/safe_open.h), and the bundle is the last "bundle=" label, the one
 * runc appends after the annotations.
 */
#include "audit/runtime_state.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/safe_open.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

const struct pg_state_root pg_default_state_roots[] = {
  { "/run/runc", PG_ROOT_RUNTIME, true },
  { "/run/crun", PG_ROOT_RUNTIME, true },
  { "/run/containerd/runc", PG_ROOT_CONTAINERD, true },
  { "/run/docker", PG_ROOT_DOCKER, true },
};
const size_t pg_n_default_state_roots = sizeof (pg_default_state_roots) / sizeof (pg_default_state_roots[0]);

/* A state file's bound: runc's state.json holds the container's whole
   config, annotations included, as config.json does.  */
#define RUNC_STATE_MAX PG_MAX_CONFIG_SIZE
#define CRUN_STATUS_MAX PG_MAX_STATE_SIZE
#define PROC_STAT_MAX 4096
#define ID_MAX 1024
#define BUNDLE_MAX 4096

const char *
pg_root_kind_name (enum pg_root_kind kind)
{
  switch (kind)
    {
    case PG_ROOT_CONTAINERD:
      return "containerd";
    case PG_ROOT_DOCKER:
      return "docker";
    case PG_ROOT_RUNTIME:
      break;
    }
  return "runtime";
}

const char *
pg_run_status_name (enum pg_run_status s)
{
  switch (s)
    {
    case PG_RUN_CREATED:
      return "created";
    case PG_RUN_RUNNING:
      return "running";
    case PG_RUN_STOPPED:
      break;
    }
  return "stopped";
}

int
pg_state_root_parse (const char *spec, struct pg_state_root *root, pg_error_t *err)
{
  static const struct
  {
    const char *prefix;
    enum pg_root_kind kind;
  } kinds[] = { { "containerd=", PG_ROOT_CONTAINERD }, { "docker=", PG_ROOT_DOCKER } };

  root->kind = PG_ROOT_RUNTIME;
  root->path = spec;
  root->optional = false;
  for (size_t i = 0; i < sizeof (kinds) / sizeof (kinds[0]); i++)
    if (strncmp (spec, kinds[i].prefix, strlen (kinds[i].prefix)) == 0)
      {
        root->kind = kinds[i].kind;
        root->path = spec + strlen (kinds[i].prefix);
        break;
      }
  if (*root->path == '\0')
    return pg_make_error (err, 0, "--root: `%s` names no directory", spec);
  return 0;
}

void
pg_runtime_container_free (struct pg_runtime_container *c)
{
  free (c->id);
  free (c->dir);
  free (c->namespace);
  free (c->bundle);
  free (c->error);
  memset (c, 0, sizeof (*c));
}

void
pg_runtime_list_free (struct pg_runtime_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    pg_runtime_container_free (&l->v[i]);
  free (l->v);
  memset (l, 0, sizeof (*l));
}

/* --- /proc ---------------------------------------------------------------- */

int
pg_process_is (const char *proc, int64_t pid, uint64_t start_time)
{
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;
  char buf[PROC_STAT_MAX + 1];
  const char *p;
  ssize_t len;
  char state;

  if (pid <= 0 || pid > INT32_MAX)
    return 0;
  xasprintf (&path, "%s/%lld/stat", proc ? proc : "/proc", (long long) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return 0;
  len = read (fd, buf, PROC_STAT_MAX);
  if (len <= 0)
    return 0;
  buf[len] = '\0';
  /* "pid (comm) state ppid ...": comm may hold anything, even ") ".  */
  p = strrchr (buf, ')');
  if (p == NULL || p[1] != ' ')
    return 0;
  p += 2;
  state = *p;
  if (state == 'Z' || state == 'X' || state == 'x' || state == '\0')
    return 0;
  if (start_time == 0)
    return 1;
  /* starttime is field 22: 19 fields after the state (field 3).  */
  for (int field = 3; field < 22; field++)
    {
      p = strchr (p, ' ');
      if (p == NULL)
        return 0;
      p++;
    }
  {
    char *end = NULL;
    unsigned long long t;
    errno = 0;
    t = strtoull (p, &end, 10);
    if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
      return 0;
    return t == start_time ? 1 : 0;
  }
}

/* --- state files ---------------------------------------------------------- */

/* A JSON number that is a whole number in [MIN, MAX] (state files are read
   with integers as reals: runc's config may hold rlimits of 2^64-1), or,
   as some older runtimes wrote it, a decimal string.  */
static int
json_whole (json_t *v, double min, double max, uint64_t *out)
{
  double d;

  if (json_is_string (v))
    {
      const char *s = json_string_value (v);
      char *end = NULL;
      unsigned long long u;
      if (*s == '\0' || !isdigit ((unsigned char) *s))
        return -1;
      errno = 0;
      u = strtoull (s, &end, 10);
      if (errno || *end != '\0' || (double) u < min || (double) u > max)
        return -1;
      *out = u;
      return 0;
    }
  if (!json_is_number (v))
    return -1;
  d = json_number_value (v);
  if (!isfinite (d) || d != floor (d) || d < min || d > max)
    return -1;
  *out = (uint64_t) d;
  return 0;
}

static void
set_created (struct pg_runtime_container *c, json_t *doc, const char *key)
{
  const char *s = pg_json_string (doc, key);
  int64_t t;

  c->created = -1;
  if (s && parse_rfc3339 (s, &t) == 0)
    c->created = t;
}

static int
set_bundle (struct pg_runtime_container *c, const char *bundle, const char *name, pg_error_t *err)
{
  if (bundle == NULL || bundle[0] != '/' || strlen (bundle) > BUNDLE_MAX)
    return pg_make_error (err, 0, "%s: no bundle (an absolute path)", name);
  c->bundle = xstrdup (bundle);
  return 0;
}

static int
set_pid (struct pg_runtime_container *c, json_t *v, const char *key, const char *name, pg_error_t *err)
{
  uint64_t pid;

  if (json_whole (v, 1, INT32_MAX, &pid) < 0)
    return pg_make_error (err, 0, "%s: `%s` is not a process ID", name, key);
  c->pid = (int64_t) pid;
  return 0;
}

/* runc: libcontainer's State.  The OCI state's bundle is the last
   "bundle=" label (utils.Annotations), which runc adds after the
   annotations, so that no annotation named "bundle" stands in for it.  */
static int
parse_runc (struct pg_runtime_container *c, const char *text, size_t len, const char *name, pg_error_t *err)
{
  cleanup_json json_t *doc = NULL;
  const char *id, *bundle = NULL;
  json_t *labels, *v;
  size_t i;

  if (pg_json_parse_flags (text, len, name, JSON_DECODE_INT_AS_REAL, &doc, err) < 0)
    return -1;
  if (!json_is_object (doc))
    return pg_make_error (err, 0, "%s: not a JSON object", name);
  id = pg_json_string (doc, "id");
  if (id == NULL || strcmp (id, c->id) != 0)
    return pg_make_error (err, 0, "%s: its `id` is not %s, the directory's name", name, c->id);
  if (set_pid (c, json_object_get (doc, "init_process_pid"), "init_process_pid", name, err) < 0)
    return -1;
  v = json_object_get (doc, "init_process_start");
  if (v && json_whole (v, 0, 18446744073709551615.0, &c->start_time) < 0)
    return pg_make_error (err, 0, "%s: `init_process_start` is not a number of clock ticks", name);
  labels = pg_json_path (doc, "config.labels");
  if (!json_is_array (labels))
    return pg_make_error (err, 0, "%s: no `config.labels`", name);
  json_array_foreach (labels, i, v)
    {
      const char *l = json_string_value (v);
      if (l && strncmp (l, "bundle=", 7) == 0)
        bundle = l + 7;
    }
  if (set_bundle (c, bundle, name, err) < 0)
    return -1;
  set_created (c, doc, "created");
  return 0;
}

/* crun: the status file libcrun_write_container_status writes.  */
static int
parse_crun (struct pg_runtime_container *c, const char *text, size_t len, const char *name, pg_error_t *err)
{
  cleanup_json json_t *doc = NULL;
  json_t *v;

  if (pg_json_parse_flags (text, len, name, JSON_DECODE_INT_AS_REAL, &doc, err) < 0)
    return -1;
  if (!json_is_object (doc))
    return pg_make_error (err, 0, "%s: not a JSON object", name);
  if (set_pid (c, json_object_get (doc, "pid"), "pid", name, err) < 0)
    return -1;
  /* Older crun wrote none: then the pid alone is checked, as crun does.  */
  v = json_object_get (doc, "process-start-time");
  if (v && json_whole (v, 0, 18446744073709551615.0, &c->start_time) < 0)
    return pg_make_error (err, 0, "%s: `process-start-time` is not a number of clock ticks", name);
  if (set_bundle (c, pg_json_string (doc, "bundle"), name, err) < 0)
    return -1;
  set_created (c, doc, "created");
  return 0;
}

int
pg_runtime_state_parse (const char *format, const char *text, size_t len, const char *name,
                        struct pg_runtime_container *c, pg_error_t *err)
{
  if (strcmp (format, "crun") == 0)
    return parse_crun (c, text, len, name, err);
  return parse_runc (c, text, len, name, err);
}

/* ROOTFD/ENTRY/FILE, read below the root: 1 read, 0 absent, <0 error.  */
static int
read_state_file (int rootfd, const char *dir, const char *entry, const char *file, size_t max, char **buf,
                 size_t *len, char **name, pg_error_t *err)
{
  cleanup_free char *rel = NULL;

  xasprintf (&rel, "%s/%s", entry, file);
  free (*name);
  *name = NULL;
  xasprintf (name, "%s/%s", dir, rel);
  return pg_safe_read_file (rootfd, rel, PG_RESOLVE_BENEATH, max, *name, buf, len, err);
}

/* The container of state directory ROOT/ENTRY: 1 with *C filled in (maybe
   with C->error), 0 when the directory holds no state.  */
static int
read_container (int rootfd, const char *root, const char *entry, const char *proc,
                struct pg_runtime_container *c)
{
  cleanup_free char *buf = NULL;
  cleanup_free char *name = NULL;
  pg_error_t err = NULL;
  size_t len = 0;
  int r;

  c->id = xstrdup (entry);
  xasprintf (&c->dir, "%s/%s", root, entry);
  c->created = -1;
  c->format = "runc";
  r = read_state_file (rootfd, root, entry, "state.json", RUNC_STATE_MAX, &buf, &len, &name, &err);
  if (r == 1)
    r = pg_runtime_state_parse ("runc", buf, len, name, c, &err) < 0 ? -1 : 1;
  else if (r == 0)
    {
      c->format = "crun";
      r = read_state_file (rootfd, root, entry, "status", CRUN_STATUS_MAX, &buf, &len, &name, &err);
      if (r == 1)
        r = pg_runtime_state_parse ("crun", buf, len, name, c, &err) < 0 ? -1 : 1;
    }
  if (r == 0)
    return 0;
  if (r < 0)
    {
      c->error = xstrdup (err ? err->msg : "unreadable state");
      pg_error_release (&err);
      return 1;
    }
  if (pg_process_is (proc, c->pid, c->start_time) != 1)
    c->status = PG_RUN_STOPPED;
  else
    {
      cleanup_free char *fifo = NULL;
      struct stat sb;
      xasprintf (&fifo, "%s/exec.fifo", entry);
      c->status = fstatat (rootfd, fifo, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? PG_RUN_CREATED : PG_RUN_RUNNING;
    }
  return 1;
}

static int
cmp_name (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The subdirectories of DIRFD (no dot entries, no symlinks), sorted.
   Returns the count, or -1 with errno.  */
static int
list_dirs (int dirfd, char ***names, size_t *n)
{
  int fd = dup (dirfd);
  DIR *d;
  struct dirent *e;

  *names = NULL;
  *n = 0;
  if (fd < 0)
    return -1;
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return -1;
    }
  while ((errno = 0, e = readdir (d)) != NULL)
    {
      struct stat sb;
      if (e->d_name[0] == '.' || strlen (e->d_name) > ID_MAX)
        continue;
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
        continue;
      if (fstatat (dirfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (sb.st_mode))
        continue;
      strv_append (names, n, e->d_name);
    }
  if (errno)
    {
      int saved = errno;
      closedir (d);
      strv_free (*names, *n);
      *names = NULL;
      *n = 0;
      errno = saved;
      return -1;
    }
  closedir (d);
  if (*n)
    qsort (*names, *n, sizeof (char *), cmp_name);
  return (int) *n;
}

/* DIR, a runtime root (DIR/<id>) whose containers belong to NAMESPACE and
   the wiring ENGINE.  OPTIONAL: a missing DIR is no error.  */
static int
list_runtime_root (const char *dir, const char *namespace, const char *engine, bool optional,
                   const char *proc, bool all, struct pg_runtime_list *out, pg_error_t *err)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char **names = NULL;
  size_t n = 0;

  if (fd < 0 && optional && errno == ENOENT)
    return 0;
  if (fd < 0 || list_dirs (fd, &names, &n) < 0)
    return pg_make_error (err, errno, "state root %s", dir);
  for (size_t i = 0; i < n; i++)
    {
      struct pg_runtime_container c = { 0 };
      if (read_container (fd, dir, names[i], proc, &c) == 0
          || (!all && !c.error && c.status == PG_RUN_STOPPED))
        {
          pg_runtime_container_free (&c);
          continue;
        }
      c.namespace = namespace ? xstrdup (namespace) : NULL;
      c.engine = engine;
      out->v = xrealloc (out->v, (out->n + 1) * sizeof (*out->v));
      out->v[out->n++] = c;
    }
  strv_free (names, n);
  return 0;
}

/* DIR/<namespace>/<id>: containerd's runc shim root, or one runtime's root
   under Docker's exec root (DOCKER).  */
static int
list_namespaces (const char *dir, bool docker, bool optional, const char *proc, bool all,
                 struct pg_runtime_list *out, pg_error_t *err)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char **names = NULL;
  size_t n = 0;
  int ret = 0;

  if (fd < 0 && optional && errno == ENOENT)
    return 0;
  if (fd < 0 || list_dirs (fd, &names, &n) < 0)
    return pg_make_error (err, errno, "state root %s", dir);
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      cleanup_free char *sub = NULL;
      /* dockerd's containers are in its own namespace (moby, unless
         --containerd-namespace says otherwise, which only Docker's roots
         tell): a containerd namespace named so is dockerd's.  */
      const char *engine = docker || strcmp (names[i], "moby") == 0 ? "docker" : "containerd";
      xasprintf (&sub, "%s/%s", dir, names[i]);
      /* A namespace removed meanwhile is no error.  */
      ret = list_runtime_root (sub, names[i], engine, true, proc, all, out, err);
    }
  strv_free (names, n);
  return ret;
}

static int
list_docker (const char *dir, bool optional, const char *proc, bool all, struct pg_runtime_list *out,
             pg_error_t *err)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char **names = NULL;
  size_t n = 0;
  int ret = 0;

  if (fd < 0 && optional && errno == ENOENT)
    return 0;
  if (fd < 0 || list_dirs (fd, &names, &n) < 0)
    return pg_make_error (err, errno, "state root %s", dir);
  /* <exec-root>/runtime-<name>: the root dockerd gives runtime <name>.  */
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      cleanup_free char *sub = NULL;
      if (strncmp (names[i], "runtime-", 8) != 0)
        continue;
      xasprintf (&sub, "%s/%s", dir, names[i]);
      ret = list_namespaces (sub, true, true, proc, all, out, err);
    }
  strv_free (names, n);
  return ret;
}

int
pg_runtime_list (const struct pg_state_root *roots, size_t n_roots, const char *proc, bool all,
                 struct pg_runtime_list *out, pg_error_t *err)
{
  memset (out, 0, sizeof (*out));
  for (size_t i = 0; i < n_roots; i++)
    {
      int r;
      switch (roots[i].kind)
        {
        case PG_ROOT_CONTAINERD:
          r = list_namespaces (roots[i].path, false, roots[i].optional, proc, all, out, err);
          break;
        case PG_ROOT_DOCKER:
          r = list_docker (roots[i].path, roots[i].optional, proc, all, out, err);
          break;
        case PG_ROOT_RUNTIME:
        default:
          r = list_runtime_root (roots[i].path, NULL, NULL, roots[i].optional, proc, all, out, err);
          break;
        }
      if (r < 0)
        {
          pg_runtime_list_free (out);
          return -1;
        }
    }
  return 0;
}
