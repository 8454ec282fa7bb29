/* patchgate-runtime's logic (hook/runtime_main.c is the program): the
 * runtime's command line, the hook entry, the bundle's config.json
 * (edited by hook/oci_config.c, replaced atomically), the real runtime.
 */
#include "runtime_wrap.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

/* --- the command line --------------------------------------------------- */

/* runc's and crun's global options that take a value.  */
static const char *const global_value_opts[]
    = { "root", "log", "log-format", "log-level", "criu", "rootless", "cgroup-manager", NULL };
/* create's, run's and restore's options that take a value, bundle aside
   (runc's and crun's).  */
static const char *const create_value_opts[]
    = { "console-socket",      "pid-file", "preserve-fds", "pidfd-socket",      "image-path", "work-path",
        "manage-cgroups-mode", "empty-ns", "lsm-profile",  "lsm-mount-context", NULL };

static bool
in_list (const char *const *list, const char *name, size_t len)
{
  for (; *list; list++)
    if (strlen (*list) == len && strncmp (*list, name, len) == 0)
      return true;
  return false;
}

/* "-x", "--xyz" or "-xyz" (Go's flag package takes both), with an optional
   "=value": the name and its length.  */
static const char *
option_name (const char *arg, size_t *len, const char **value)
{
  const char *name = arg + (arg[1] == '-' ? 2 : 1);
  const char *eq = strchr (name, '=');
  *len = eq ? (size_t) (eq - name) : strlen (name);
  *value = eq ? eq + 1 : NULL;
  return name;
}

static int
parse_create_args (int argc, char *const *argv, int i, struct pg_runtime_args *a, pg_error_t *err)
{
  for (; i < argc; i++)
    {
      const char *arg = argv[i], *name, *value;
      size_t len;
      bool bundle;

      if (strcmp (arg, "--") == 0)
        break;
      if (arg[0] != '-' || arg[1] == '\0')
        continue;
      name = option_name (arg, &len, &value);
      bundle = (len == 6 && strncmp (name, "bundle", 6) == 0) || (len == 1 && name[0] == 'b');
      if (!bundle && !in_list (create_value_opts, name, len))
        continue;
      if (value == NULL)
        {
          if (i + 1 >= argc)
            return pg_make_error (err, 0, "%s %s: option %s needs a value", argv[0], a->command, arg);
          value = argv[++i];
        }
      if (bundle)
        a->bundle = value;
    }
  return 0;
}

int
runtime_parse_args (int argc, char *const *argv, struct pg_runtime_args *a, pg_error_t *err)
{
  int i;

  memset (a, 0, sizeof (*a));
  a->command_index = -1;
  for (i = 1; i < argc; i++)
    {
      const char *arg = argv[i], *value;
      size_t len;

      if (strcmp (arg, "--") == 0)
        {
          i++;
          break;
        }
      if (arg[0] != '-' || arg[1] == '\0')
        break;
      option_name (arg, &len, &value);
      if (value == NULL && in_list (global_value_opts, arg + (arg[1] == '-' ? 2 : 1), len))
        {
          if (i + 1 >= argc)
            return pg_make_error (err, 0, "%s: option %s needs a value", argv[0], arg);
          i++;
        }
    }
  if (i >= argc)
    return 0;
  a->command = argv[i];
  a->command_index = i;
  if (runtime_creates (a))
    return parse_create_args (argc, argv, i + 1, a, err);
  return 0;
}

bool
runtime_creates (const struct pg_runtime_args *a)
{
  /* restore too: runc and crun run createRuntime hooks when they restore a
     checkpoint into a new container.  */
  return a->command
         && (strcmp (a->command, "create") == 0 || strcmp (a->command, "run") == 0
             || strcmp (a->command, "restore") == 0);
}

/* --- the hook entry ------------------------------------------------------ */

static bool
is_executable (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, X_OK) == 0;
}

/* Beside the wrapper (a build tree), then the install layout
   ($PREFIX/bin/patchgate-runtime, $PREFIX/libexec/oci/hooks.d/).  */
static char *
hook_path_near (const char *self)
{
  cleanup_free char *dir = NULL;
  char *slash, *p = NULL;

  if (self == NULL || self[0] != '/')
    return NULL;
  dir = xstrdup (self);
  slash = strrchr (dir, '/');
  *slash = '\0';
  xasprintf (&p, "%s/patchgate-hook", dir);
  if (is_executable (p))
    return p;
  free (p);
  slash = strrchr (dir, '/');
  if (slash == NULL)
    return NULL;
  *slash = '\0';
  xasprintf (&p, "%s/libexec/oci/hooks.d/patchgate-hook", dir);
  if (is_executable (p))
    return p;
  free (p);
  return NULL;
}

#if defined(__SANITIZE_ADDRESS__)
#define PG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PG_SANITIZED 1
#endif
#endif

/* Only a sanitized build, which exists for the tests, hands its
   sanitizers' options on (where to write reports); a release build's hook
   gets PATH and nothing else.  */
static void
sanitizer_env (struct pg_hook_entry *h)
{
#ifdef PG_SANITIZED
  static const char *const names[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
  for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    {
      const char *v = getenv (names[i]);
      if (v && *v)
        {
          cleanup_free char *kv = NULL;
          xasprintf (&kv, "%s=%s", names[i], v);
          strv_append (&h->env, &h->n_env, kv);
        }
    }
#else
  (void) h;
#endif
}

int
runtime_hook_entry (const struct pg_hook_config *cfg, const char *self, struct pg_hook_entry *h,
                    pg_error_t *err)
{
  const char *env_hook = getenv ("PATCHGATE_HOOK");

  memset (h, 0, sizeof (*h));
  if (env_hook && *env_hook)
    {
      if (env_hook[0] != '/')
        return pg_make_error (err, 0, "PATCHGATE_HOOK: `%s` is not an absolute path", env_hook);
      h->path = xstrdup (env_hook);
    }
  else if ((h->path = hook_path_near (self)) == NULL)
    h->path = xstrdup (PG_DEFAULT_HOOK_PATH);
  /* Always named: the hook never takes its config from its environment
     (config/hook_config.h).  */
  strv_append (&h->args, &h->n_args, "patchgate-hook");
  strv_append (&h->args, &h->n_args, "--engine");
  strv_append (&h->args, &h->n_args, cfg && cfg->runtime_engine ? cfg->runtime_engine : "docker");
  strv_append (&h->args, &h->n_args, "--config");
  strv_append (&h->args, &h->n_args, cfg && cfg->path ? cfg->path : PG_DEFAULT_HOOK_CONFIG);
  strv_append (&h->env, &h->n_env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  sanitizer_env (h);
  h->timeout = PG_HOOK_TIMEOUT;
  return 0;
}

/* --- the bundle's config.json --------------------------------------------- */

int
bundle_set_hook (const char *bundle, const struct pg_hook_entry *h, bool *changed, pg_error_t *err)
{
  cleanup_close int dirfd = -1;
  cleanup_close int fd = -1;
  cleanup_free char *name = NULL;
  cleanup_free char *buf = NULL;
  cleanup_free char *out = NULL;
  struct stat st;
  size_t len, out_len;

  *changed = false;
  xasprintf (&name, "%s/config.json", bundle);
  dirfd = open (bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return pg_make_error (err, errno, "bundle %s", bundle);
  /* Not a symlink (the rename would replace the link, not its target),
     and a FIFO is refused rather than waited on.  */
  fd = openat (dirfd, "config.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 || fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "%s", name);
  if (!S_ISREG (st.st_mode))
    return pg_make_error (err, 0, "%s: not a regular file", name);
  if (read_all_fd (fd, name, PG_MAX_CONFIG_SIZE, &buf, &len, err) < 0)
    return -1;
  if (oci_config_set_hook (buf, len, h, &out, &out_len, err) < 0)
    return pg_error_wrap (err, "%s", bundle);
  if (out == NULL)
    return 0;
  if (pg_write_file_atomic_like (name, out, out_len, &st, err) < 0)
    return -1;
  *changed = true;
  return 0;
}

/* --- the real runtime ---------------------------------------------------- */

static bool
same_file (const char *a, const char *b)
{
  struct stat sa, sb;
  return a && b && stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev
         && sa.st_ino == sb.st_ino;
}

int
runtime_select (const struct pg_hook_config *cfg, const char *self, char **runtime, pg_error_t *err)
{
  const char *env = getenv ("PATCHGATE_RUNTIME");
  const char *r = PG_DEFAULT_RUNTIME;

  *runtime = NULL;
  if (env && *env)
    r = env;
  else if (cfg && cfg->runtime_path)
    r = cfg->runtime_path;
  if (strchr (r, '/') && r[0] != '/')
    return pg_make_error (err, 0, "runtime `%s`: must be an absolute path or a name on PATH", r);
  if (r[0] == '/' && same_file (r, self))
    return pg_make_error (err, 0,
                          "runtime %s is patchgate-runtime itself: set PATCHGATE_RUNTIME or runtime_path to "
                          "the real runtime (runc, crun)",
                          r);
  *runtime = xstrdup (r);
  return 0;
}

int
runtime_exec (const char *runtime, int argc, char *const *argv, pg_error_t *err)
{
  cleanup_free char **args = xmalloc0 ((size_t) (argc + 1) * sizeof (char *));

  args[0] = (char *) runtime;
  for (int i = 1; i < argc; i++)
    args[i] = argv[i];
  if (strchr (runtime, '/'))
    execv (runtime, args);
  else
    execvp (runtime, args);
  return pg_make_error (err, errno, "exec %s", runtime);
}
