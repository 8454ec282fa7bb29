/* The checks of `patchgate doctor` (doctor/doctor.h), engine by engine:
 * where each engine's configuration says it finds hooks, whether
 * patchgate's wiring is there and valid as the engine reads it, whether the
 * binaries it runs are there and root's alone, then the hook configs the
 * wiring names and their databases.  */
#include "doctor/doctor.h"
#include "doctor/canary.h"
#include "doctor/ocihooks.h"
#include "doctor/owner.h"
#include "doctor/spawn.h"
#include "base/toml.h"
#include "config/hook_config.h"
#include "store/store.h"
#include "base/json.h"

#include <errno.h>
#include <glob.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PG_DEFAULT_HOOK_PATH
#define PG_DEFAULT_HOOK_PATH "/usr/local/libexec/oci/hooks.d/patchgate-hook"
#endif
#ifndef PG_DEFAULT_RUNC_SNIPPET
#define PG_DEFAULT_RUNC_SNIPPET "/usr/local/share/patchgate/runc-hook-snippet.json"
#endif

#define HOOKS_DIR_DEFAULT "/usr/share/containers/oci/hooks.d"
#define HOOKS_DIR_OVERRIDE "/etc/containers/oci/hooks.d"

struct ctx
{
  const struct pg_doctor_options *o;
  struct pg_doctor_report *r;
  /* Hook configs the wiring names (checked once each, at the end), and
     whether the hook is given it with --config: a named file that is
     missing is an error, the default one missing means the defaults.  */
  char **configs;
  size_t n_configs;
  bool *named;
};

static bool
in_path (const char *prog)
{
  const char *path = getenv ("PATH");
  cleanup_free char *copy = xstrdup (path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
  char *save = NULL;
  for (char *d = strtok_r (copy, ":", &save); d; d = strtok_r (NULL, ":", &save))
    {
      cleanup_free char *cand = NULL;
      xasprintf (&cand, "%s/%s", d, prog);
      if (access (cand, X_OK) == 0)
        return true;
    }
  return false;
}

static bool
exists (const char *path)
{
  return path && access (path, F_OK) == 0;
}

/* Whether ENGINE is checked: named with --engine, or (none named) its
   program is installed or its configuration was given.  An engine left
   out says so only when no --engine chose the ones to check.  */
static bool
selected (struct ctx *c, const char *engine, bool present)
{
  if (c->o->n_engines == 0)
    return present;
  for (size_t i = 0; i < c->o->n_engines; i++)
    if (strcmp (c->o->engines[i], engine) == 0)
      return true;
  return false;
}

static void
skip_engine (struct ctx *c, const char *engine, const char *why)
{
  if (c->o->n_engines == 0)
    pg_doctor_add (c->r, engine, "installed", PG_DOCTOR_SKIP, NULL, "%s", why);
}

/* NAMED: the hook gets PATH with --config.  */
static void
add_config (struct ctx *c, const char *path, bool named)
{
  for (size_t i = 0; i < c->n_configs; i++)
    if (strcmp (c->configs[i], path) == 0)
      {
        c->named[i] |= named;
        return;
      }
  c->named = xrealloc (c->named, (c->n_configs + 1) * sizeof (*c->named));
  c->named[c->n_configs] = named;
  strv_append (&c->configs, &c->n_configs, path);
}

static char *
join (char *const *v, size_t n)
{
  char *out = xstrdup ("");
  for (size_t i = 0; i < n; i++)
    {
      char *next = NULL;
      xasprintf (&next, "%s%s%s", out, i ? ", " : "", v[i]);
      free (out);
      out = next;
    }
  return out;
}

/* The values of --config and --engine in a hook definition's args.  */
static void
hook_args (char *const *args, size_t n, const char **config, const char **engine)
{
  *config = NULL;
  *engine = NULL;
  for (size_t i = 1; i < n; i++)
    {
      if ((strcmp (args[i], "--config") == 0 || strcmp (args[i], "-c") == 0) && i + 1 < n)
        *config = args[++i];
      else if (strncmp (args[i], "--config=", 9) == 0)
        *config = args[i] + 9;
      else if ((strcmp (args[i], "--engine") == 0 || strcmp (args[i], "-e") == 0) && i + 1 < n)
        *engine = args[++i];
      else if (strncmp (args[i], "--engine=", 9) == 0)
        *engine = args[i] + 9;
    }
}

static const char *
config_or_default (struct ctx *c, const char *named)
{
  if (named)
    return named;
  return c->o->hook_config ? c->o->hook_config : PG_DEFAULT_HOOK_CONFIG;
}

/* The binary an engine runs as root for every container: there, a
   regular file, executable, root's alone.  IF_MISSING says what the engine
   then does.  */
static bool
check_binary (struct ctx *c, const char *engine, const char *what, const char *path, const char *if_missing)
{
  cleanup_free char *why = NULL;
  struct stat st;
  bool missing;
  int r;

  if (path == NULL || path[0] != '/')
    {
      pg_doctor_add (c->r, engine, what, PG_DOCTOR_FAIL, path, "not an absolute path");
      return false;
    }
  if (stat (path, &st) < 0)
    {
      pg_doctor_add (c->r, engine, what, PG_DOCTOR_FAIL, path, "%s: %s", strerror (errno), if_missing);
      return false;
    }
  if (!S_ISREG (st.st_mode))
    {
      pg_doctor_add (c->r, engine, what, PG_DOCTOR_FAIL, path, "not a regular file: %s", if_missing);
      return false;
    }
  if ((st.st_mode & 0111) == 0)
    {
      pg_doctor_add (c->r, engine, what, PG_DOCTOR_FAIL, path,
                     "not executable (mode %04o): the runtime cannot run it",
                     (unsigned) (st.st_mode & 07777));
      return false;
    }
  r = pg_root_only (path, &missing, &why);
  if (r <= 0)
    {
      pg_doctor_add (
          c->r, engine, what, PG_DOCTOR_FAIL, path,
          "%s: whoever can write it runs code as root at every container start, and decides what starts",
          why);
      return false;
    }
  if (strcmp (what, "hook binary") == 0)
    {
      /* It must also start here: its shared libraries are the host's
         (a hook copied from another distribution, a library removed).  */
      char *argv[] = { (char *) path, "--help", NULL };
      char *env[] = { "-", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
      cleanup_free char *out = NULL;
      cleanup_error pg_error_t err = NULL;
      int status;
      if (pg_run_capture (argv, env, 10, &out, &status, &err) < 0 || status != 0)
        {
          char *nl = out ? strchr (out, '\n') : NULL;
          if (nl)
            *nl = '\0';
          pg_doctor_add (
              c->r, engine, what, PG_DOCTOR_FAIL, path,
              "does not run here (exit %d: %.200s): the runtime's hook fails, and every container is "
              "refused",
              status, err ? err->msg : out);
          return false;
        }
    }
  pg_doctor_add (c->r, engine, what, PG_DOCTOR_OK, path, "executable, root's alone, runs");
  return true;
}

/* A wiring file (hooks.d file, base spec, daemon.json) must be root's
   alone too: whoever can edit it can unwire patchgate.  */
static bool
check_wiring_file (struct ctx *c, const char *engine, const char *path)
{
  cleanup_free char *why = NULL;
  bool missing;
  if (pg_root_only (path, &missing, &why) > 0)
    return true;
  pg_doctor_add (c->r, engine, "wiring file", PG_DOCTOR_FAIL, path,
                 "%s: whoever can write it can unwire patchgate", why);
  return false;
}

/* --- podman and CRI-O: hooks.d ------------------------------------------- */

/* The last hooks_dir that KEY sets in FILES, in order; a file that does
   not parse is a failure (the engine would not start on it either).  */
static void
toml_hooks_dir (struct ctx *c, const char *engine, char **files, size_t n_files, const char *const *key,
                size_t n_key, char ***dirs, size_t *n_dirs, char **source)
{
  for (size_t i = 0; i < n_files; i++)
    {
      cleanup_toml struct pg_toml doc = { 0 };
      cleanup_error pg_error_t err = NULL;
      const struct pg_toml_entry *e;
      int r = pg_toml_load_file (files[i], &doc, &err);
      if (r < 0)
        {
          pg_doctor_add (c->r, engine, "config", PG_DOCTOR_FAIL, files[i], "%s", err->msg);
          continue;
        }
      if (r == 0)
        continue;
      e = pg_toml_find (&doc, key, n_key);
      if (e == NULL)
        continue;
      if (e->type != PG_TOML_STRINGS)
        {
          pg_doctor_add (c->r, engine, "config", PG_DOCTOR_FAIL, files[i],
                         "%s:%d: hooks_dir is not a list of strings", files[i], e->line);
          continue;
        }
      strv_free (*dirs, *n_dirs);
      *dirs = NULL;
      *n_dirs = 0;
      for (size_t j = 0; j < e->n_strv; j++)
        strv_append (dirs, n_dirs, e->strv[j]);
      free (*source);
      xasprintf (source, "hooks_dir of %s", files[i]);
    }
}

static void
glob_append (const char *pattern, char ***files, size_t *n)
{
  glob_t g;
  if (glob (pattern, 0, NULL, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; i++)
      strv_append (files, n, g.gl_pathv[i]);
  globfree (&g);
}

/* One hooks.d file of patchgate's, as ENGINE reads it.  Returns true when
   it makes ENGINE run patchgate-hook for every container.  */
static bool
check_hooksd_file (struct ctx *c, const char *engine, const char *nice, const struct pg_oci_hook_file *f)
{
  const char *config, *hook_engine;
  bool ok = true;

  if (f->missing_binary)
    {
      pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_FAIL, f->path,
                     "hook.path %s does not exist: %s skips this file without a word and starts containers "
                     "unguarded",
                     f->hook_path, nice);
      return false;
    }
  if (f->error)
    {
      pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_FAIL, f->path, "%s", f->error);
      return false;
    }
  if (!pg_is_patchgate_hook (f->hook_path))
    {
      pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_FAIL, f->path,
                     "named like patchgate's, but its hook.path %s is not patchgate-hook", f->hook_path);
      return false;
    }
  if (f->overridden)
    {
      pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_WARN, f->path,
                     "not used: %s, of the same name in a later directory, takes its place",
                     f->overridden_by);
      return false;
    }
  if (!f->runs_always)
    {
      pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_FAIL, f->path, "%s", f->when_why);
      return false;
    }
  if (!f->gates)
    {
      pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_FAIL, f->path, "%s", f->stages_why);
      return false;
    }
  hook_args (f->args, f->n_args, &config, &hook_engine);
  {
    cleanup_free char *stages = join (f->stages, f->n_stages);
    pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_OK, f->path,
                   "version 1.0.0, stages %s, when always; --engine %s, --config %s", stages,
                   hook_engine ? hook_engine : "(none)", config_or_default (c, config));
  }
  if (hook_engine == NULL
      || !(strcmp (hook_engine, "containers-storage") == 0 || strcmp (hook_engine, engine) == 0))
    pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_WARN, f->path,
                   "--engine %s: %s's containers are identified from containers/storage only under "
                   "--engine containers-storage or %s",
                   hook_engine ? hook_engine : "(none)", nice, engine);
  if (f->has_timeout && f->timeout <= 0)
    pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_WARN, f->path, "hook.timeout %lld: no time to decide",
                   f->timeout);
  ok &= check_wiring_file (c, engine, f->path);
  ok &= check_binary (c, engine, "hook binary", f->hook_path,
                      "the engine cannot run it and refuses containers");
  add_config (c, config_or_default (c, config), config != NULL || c->o->hook_config);
  return ok;
}

/* MERGED: the directories are one hooks.New (a hooks_dir was configured),
   so a later directory's file replaces an earlier one of the same name;
   else each is read on its own, as podman does with its two default
   directories, and both files run.  */
static void
check_hooksd (struct ctx *c, const char *engine, const char *nice, char **dirs, size_t n_dirs, bool merged,
              const char *source, char *const *ext, size_t n_ext)
{
  cleanup_free char *joined = join (dirs, n_dirs);
  bool enforced = false, found = false, fatal = false;

  pg_doctor_add (c->r, engine, "hooks_dir", PG_DOCTOR_INFO, NULL, "%s (%s)", joined, source);
  for (size_t g = 0; g < (merged ? 1 : n_dirs); g++)
    {
      cleanup_oci_hooks struct pg_oci_hooks set = { 0 };
      cleanup_error pg_error_t err = NULL;

      if (pg_oci_hooks_scan (merged ? dirs : dirs + g, merged ? n_dirs : 1, ext, n_ext, &set, &err) < 0)
        {
          pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_FAIL, NULL, "%s", err->msg);
          return;
        }
      if (set.fatal)
        {
          fatal = true;
          pg_doctor_add (c->r, engine, "hooks.d", PG_DOCTOR_FAIL, NULL,
                         "%s cannot load its hooks directories (%s): it refuses to start %s", nice, set.fatal,
                         strcmp (engine, "podman") == 0 ? "every container" : "at all");
        }
      for (size_t i = 0; i < set.n_files; i++)
        {
          const struct pg_oci_hook_file *f = &set.files[i];
          if (!pg_is_patchgate_hook (f->hook_path) && strncmp (f->name, "patchgate", 9) != 0)
            continue;
          found = true;
          if (check_hooksd_file (c, engine, nice, f))
            enforced = true;
        }
    }
  if (!found)
    pg_doctor_add (c->r, engine, "wired", PG_DOCTOR_FAIL, NULL,
                   "no hooks.d file runs patchgate-hook in %s: %s starts containers unguarded", joined, nice);
  else if (!enforced || fatal)
    pg_doctor_add (c->r, engine, "wired", PG_DOCTOR_FAIL, NULL,
                   "%s does not run patchgate-hook for every container", nice);
  else
    pg_doctor_add (c->r, engine, "wired", PG_DOCTOR_OK, NULL, "%s runs patchgate-hook for every container",
                   nice);
}

/* --hooks-dir DIR... stands for every directory the configuration named.  */
static void
hooks_dirs_override (const struct pg_doctor_options *o, char ***dirs, size_t *n_dirs, char **source)
{
  if (o->n_hooks_dirs == 0)
    return;
  strv_free (*dirs, *n_dirs);
  *dirs = NULL;
  *n_dirs = 0;
  for (size_t i = 0; i < o->n_hooks_dirs; i++)
    strv_append (dirs, n_dirs, o->hooks_dirs[i]);
  free (*source);
  *source = xstrdup ("--hooks-dir");
}

static void
check_podman (struct ctx *c)
{
  const struct pg_doctor_options *o = c->o;
  static const char *const key[] = { "engine", "hooks_dir" };
  char *ext[] = { "precreate", "poststop" };
  char **dirs = NULL, **files = NULL;
  size_t n_dirs = 0, n_files = 0;
  char *source = NULL;
  const char *env = getenv ("CONTAINERS_CONF");

  if (!selected (c, "podman", in_path ("podman") || o->containers_conf))
    {
      skip_engine (c, "podman", "podman is not installed");
      return;
    }
  strv_append (&dirs, &n_dirs, HOOKS_DIR_DEFAULT);
  strv_append (&dirs, &n_dirs, HOOKS_DIR_OVERRIDE);
  source = xstrdup ("podman's default");
  if (o->containers_conf)
    strv_append (&files, &n_files, o->containers_conf);
  else if (env && *env)
    strv_append (&files, &n_files, env);
  else
    {
      strv_append (&files, &n_files, "/usr/share/containers/containers.conf");
      strv_append (&files, &n_files, "/etc/containers/containers.conf");
      glob_append ("/etc/containers/containers.conf.d/*.conf", &files, &n_files);
    }
  toml_hooks_dir (c, "podman", files, n_files, key, 2, &dirs, &n_dirs, &source);
  hooks_dirs_override (o, &dirs, &n_dirs, &source);
  /* Unconfigured, podman reads its two default directories one by one.  */
  check_hooksd (c, "podman", "podman", dirs, n_dirs, strcmp (source, "podman's default") != 0, source, ext,
                2);
  strv_free (dirs, n_dirs);
  strv_free (files, n_files);
  free (source);
}

static void
check_crio (struct ctx *c)
{
  const struct pg_doctor_options *o = c->o;
  static const char *const key[] = { "crio", "runtime", "hooks_dir" };
  char **dirs = NULL, **files = NULL;
  size_t n_dirs = 0, n_files = 0;
  char *source = NULL;

  if (!selected (c, "crio", in_path ("crio") || o->crio_conf || exists ("/etc/crio/crio.conf")))
    {
      skip_engine (c, "crio", "CRI-O is not installed");
      return;
    }
  /* CRI-O's hooks_dir defaults to the one directory (podman's to two).  */
  strv_append (&dirs, &n_dirs, HOOKS_DIR_DEFAULT);
  source = xstrdup ("CRI-O's default");
  if (o->crio_conf)
    strv_append (&files, &n_files, o->crio_conf);
  else
    {
      strv_append (&files, &n_files, "/etc/crio/crio.conf");
      glob_append ("/etc/crio/crio.conf.d/*.conf", &files, &n_files);
    }
  toml_hooks_dir (c, "crio", files, n_files, key, 3, &dirs, &n_dirs, &source);
  hooks_dirs_override (o, &dirs, &n_dirs, &source);
  check_hooksd (c, "crio", "CRI-O", dirs, n_dirs, true, source, NULL, 0);
  strv_free (dirs, n_dirs);
  strv_free (files, n_files);
  free (source);
}

/* --- containerd: the CRI plugin's base runtime spec ----------------------- */

/* A base spec (or a bundle's config.json): its createRuntime or prestart
   entry that runs patchgate-hook with --engine WANT_ENGINE.  */
static bool
check_spec_hook (struct ctx *c, const char *engine, const char *spec_path, const char *want_engine)
{
  cleanup_json json_t *spec = NULL;
  cleanup_error pg_error_t err = NULL;
  static const char *const stages[] = { "createRuntime", "prestart" };

  if (pg_json_load_file (spec_path, PG_MAX_CONFIG_SIZE, &spec, &err) < 0)
    {
      pg_doctor_add (c->r, engine, "base spec", PG_DOCTOR_FAIL, spec_path,
                     "%s: every CRI container fails to start", err->msg);
      return false;
    }
  for (size_t s = 0; s < 2; s++)
    {
      json_t *list = pg_json_path (spec, stages[s] == stages[0] ? "hooks.createRuntime" : "hooks.prestart");
      size_t i;
      json_t *h;
      json_array_foreach (list, i, h)
        {
          const char *path = pg_json_string (h, "path");
          json_t *args = json_object_get (h, "args");
          char **argv = NULL;
          size_t n = 0, j;
          json_t *a;
          const char *config, *hook_engine;
          bool ok = true;

          if (!pg_is_patchgate_hook (path))
            continue;
          json_array_foreach (args, j, a)
            strv_append (&argv, &n, json_is_string (a) ? json_string_value (a) : "");
          hook_args (argv, n, &config, &hook_engine);
          if (hook_engine == NULL || strcmp (hook_engine, want_engine) != 0)
            pg_doctor_add (
                c->r, engine, "base spec", PG_DOCTOR_FAIL, spec_path,
                "the hook says --engine %s, not --engine %s: CRI containers are not identified from "
                "containerd's keys, and are refused as unidentified",
                hook_engine ? hook_engine : "(none)", want_engine);
          else
            pg_doctor_add (c->r, engine, "base spec", PG_DOCTOR_OK, spec_path,
                           "hooks.%s runs patchgate-hook --engine %s, --config %s", stages[s], hook_engine,
                           config_or_default (c, config));
          ok &= hook_engine && strcmp (hook_engine, want_engine) == 0;
          ok &= check_wiring_file (c, engine, spec_path);
          ok &= check_binary (c, engine, "hook binary", path,
                              "runc cannot run it and every CRI container fails to start");
          add_config (c, config_or_default (c, config), config != NULL || c->o->hook_config);
          strv_free (argv, n);
          return ok;
        }
    }
  pg_doctor_add (
      c->r, engine, "base spec", PG_DOCTOR_FAIL, spec_path,
      "no hooks.createRuntime (or prestart) entry runs patchgate-hook: CRI containers start unguarded");
  return false;
}

static bool
strv_has (char *const *v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

static void
check_containerd (struct ctx *c)
{
  const char *path = c->o->containerd_config ? c->o->containerd_config : "/etc/containerd/config.toml";
  cleanup_toml struct pg_toml doc = { 0 };
  cleanup_error pg_error_t err = NULL;
  const struct pg_toml_entry *e;
  const char *plugin;
  long long version = 1;
  char **runtimes = NULL;
  size_t n_runtimes = 0;
  const char *default_runtime = "runc";
  bool all_ok = true;
  int r;

  if (!selected (c, "containerd", in_path ("containerd") || c->o->containerd_config))
    {
      skip_engine (c, "containerd", "containerd is not installed");
      return;
    }
  r = pg_toml_load_file (path, &doc, &err);
  if (r < 0)
    {
      pg_doctor_add (c->r, "containerd", "config", PG_DOCTOR_FAIL, path, "%s", err->msg);
      return;
    }
  if (r == 0)
    {
      pg_doctor_add (c->r, "containerd", "wired", PG_DOCTOR_FAIL, path,
                     "no config: the CRI plugin uses its built-in spec, and CRI containers start unguarded");
      return;
    }
  {
    static const char *const vkey[] = { "version" };
    e = pg_toml_find (&doc, vkey, 1);
    if (e && e->type == PG_TOML_INT)
      version = e->integer;
  }
  plugin = version >= 3 ? "io.containerd.cri.v1.runtime" : version == 2 ? "io.containerd.grpc.v1.cri" : "cri";
  {
    static const char *const dkey[] = { "disabled_plugins" };
    e = pg_toml_find (&doc, dkey, 1);
    if (e && e->type == PG_TOML_STRINGS
        && (strv_has (e->strv, e->n_strv, "cri") || strv_has (e->strv, e->n_strv, plugin)
            || strv_has (e->strv, e->n_strv, "io.containerd.grpc.v1.cri")))
      {
        pg_doctor_add (
            c->r, "containerd", "wired", PG_DOCTOR_INFO, path,
            "the CRI plugin is disabled: containerd starts no Kubernetes containers here (Docker's "
            "are checked under docker)");
        return;
      }
  }
  if (version < 2)
    {
      pg_doctor_add (
          c->r, "containerd", "config", PG_DOCTOR_FAIL, path,
          "config version 1 is not checked: `containerd config migrate`, then wire base_runtime_spec");
      return;
    }
  {
    const char *dkey[] = { "plugins", plugin, "containerd", "default_runtime_name" };
    e = pg_toml_find (&doc, dkey, 4);
    if (e && e->type == PG_TOML_STRING)
      default_runtime = e->str;
  }
  strv_append (&runtimes, &n_runtimes, default_runtime);
  /* Every runtime handler the config defines: pods may pick any.  */
  for (size_t i = 0; i < doc.n_entries; i++)
    {
      const struct pg_toml_entry *x = &doc.entries[i];
      if (x->n_key >= 5 && strcmp (x->key[0], "plugins") == 0 && strcmp (x->key[1], plugin) == 0
          && strcmp (x->key[2], "containerd") == 0 && strcmp (x->key[3], "runtimes") == 0
          && !strv_has (runtimes, n_runtimes, x->key[4]))
        strv_append (&runtimes, &n_runtimes, x->key[4]);
    }
  for (size_t i = 0; i < n_runtimes; i++)
    {
      const char *skey[] = { "plugins", plugin, "containerd", "runtimes", runtimes[i], "base_runtime_spec" };
      e = pg_toml_find (&doc, skey, 6);
      if (e == NULL || e->type != PG_TOML_STRING || e->str[0] == '\0')
        {
          pg_doctor_add (c->r, "containerd", "base spec", PG_DOCTOR_FAIL, path,
                         "runtime %s has no base_runtime_spec: its containers start unguarded", runtimes[i]);
          all_ok = false;
          continue;
        }
      if (!check_spec_hook (c, "containerd", e->str, "containerd"))
        all_ok = false;
    }
  strv_free (runtimes, n_runtimes);
  all_ok &= check_wiring_file (c, "containerd", path);
  pg_doctor_add (c->r, "containerd", "wired", all_ok ? PG_DOCTOR_OK : PG_DOCTOR_FAIL, path,
                 all_ok ? "every CRI runtime's base spec runs patchgate-hook"
                        : "not every CRI container runs patchgate-hook");
}

/* --- Docker: the runtime wrapper ------------------------------------------ */

static void
check_docker (struct ctx *c)
{
  const char *path = c->o->docker_daemon_json ? c->o->docker_daemon_json : "/etc/docker/daemon.json";
  cleanup_json json_t *doc = NULL;
  cleanup_error pg_error_t err = NULL;
  const char *key, *def, *wrapper = NULL, *name = NULL;
  json_t *rt, *runtimes;
  bool ok = true;

  if (!selected (c, "docker", in_path ("dockerd") || c->o->docker_daemon_json))
    {
      skip_engine (c, "docker", "dockerd is not installed");
      return;
    }
  if (!exists (path))
    {
      pg_doctor_add (c->r, "docker", "wired", PG_DOCTOR_FAIL, path,
                     "no daemon.json: patchgate-runtime is not registered, and containers start unguarded");
      return;
    }
  if (pg_json_load_file (path, PG_MAX_HOOK_CONFIG_SIZE, &doc, &err) < 0)
    {
      pg_doctor_add (c->r, "docker", "daemon.json", PG_DOCTOR_FAIL, path, "%s: dockerd will not start",
                     err->msg);
      return;
    }
  runtimes = json_object_get (doc, "runtimes");
  json_object_foreach (runtimes, key, rt)
    {
      const char *p = pg_json_string (rt, "path");
      const char *slash = p ? strrchr (p, '/') : NULL;
      if (p && strcmp (slash ? slash + 1 : p, "patchgate-runtime") == 0)
        {
          name = key;
          wrapper = p;
          break;
        }
    }
  if (name == NULL)
    {
      pg_doctor_add (c->r, "docker", "wired", PG_DOCTOR_FAIL, path,
                     "no runtime in \"runtimes\" is patchgate-runtime: containers start unguarded");
      return;
    }
  def = pg_json_string (doc, "default-runtime");
  if (def == NULL || strcmp (def, name) != 0)
    {
      pg_doctor_add (c->r, "docker", "default-runtime", PG_DOCTOR_FAIL, path,
                     "default-runtime is %s, not %s: only `docker run --runtime %s` is gated",
                     def ? def : "runc", name, name);
      ok = false;
    }
  else
    pg_doctor_add (c->r, "docker", "default-runtime", PG_DOCTOR_OK, path, "runtime %s (%s) is the default",
                   name, wrapper);
  ok &= check_wiring_file (c, "docker", path);
  ok &= check_binary (c, "docker", "runtime wrapper", wrapper, "dockerd cannot start containers");
  {
    /* The wrapper runs the hook beside itself, else the installed one.  */
    cleanup_free char *beside = NULL;
    const char *slash = strrchr (wrapper, '/');
    xasprintf (&beside, "%.*s/patchgate-hook", (int) (slash ? slash - wrapper : 0), wrapper);
    ok &= check_binary (c, "docker", "hook binary", exists (beside) ? beside : PG_DEFAULT_HOOK_PATH,
                        "the wrapper refuses every container");
  }
  /* The wrapper passes --config only for a config other than the default.  */
  add_config (c, config_or_default (c, NULL),
              c->o->hook_config && strcmp (c->o->hook_config, PG_DEFAULT_HOOK_CONFIG) != 0);
  pg_doctor_add (c->r, "docker", "wired", ok ? PG_DOCTOR_OK : PG_DOCTOR_FAIL, path,
                 ok ? "every docker run goes through patchgate-runtime"
                    : "docker containers are not all gated");
}

/* --- bare runc ------------------------------------------------------------ */

static void
check_runc (struct ctx *c)
{
  const char *snippet = c->o->runc_snippet ? c->o->runc_snippet : PG_DEFAULT_RUNC_SNIPPET;
  if (!selected (c, "runc", in_path ("runc")))
    {
      skip_engine (c, "runc", "runc is not installed");
      return;
    }
  pg_doctor_add (c->r, "runc", "wired", PG_DOCTOR_INFO, snippet,
                 "a bare bundle is gated only when its config.json carries the hook (this snippet); --canary "
                 "starts one");
}

/* --- the hook config and the database ------------------------------------- */

static void
check_config (struct ctx *c, const char *path, bool named)
{
  cleanup_hook_config struct pg_hook_config cfg = { 0 };
  cleanup_error pg_error_t err = NULL;
  cleanup_free char *why = NULL;
  bool missing;
  int r;

  r = pg_root_only (path, &missing, &why);
  if (r < 0 && missing && !named)
    {
      /* As hook_config_load does with the default file missing.  */
      pg_doctor_add (c->r, "patchgate", "hook config", PG_DOCTOR_INFO, path,
                     "absent: the built-in defaults apply");
      cfg.policy_db = xstrdup (PG_DEFAULT_DB);
    }
  else if (r < 0)
    {
      pg_doctor_add (c->r, "patchgate", "hook config", PG_DOCTOR_FAIL, path,
                     "%s: the hook is given it with --config, and refuses every container", why);
      return;
    }
  else
    {
      if (r == 0)
        pg_doctor_add (c->r, "patchgate", "hook config", PG_DOCTOR_FAIL, path,
                       "%s: whoever can write it decides what the hook allows", why);
      if (hook_config_load (path, &cfg, &err) < 0)
        {
          pg_doctor_add (c->r, "patchgate", "hook config", PG_DOCTOR_FAIL, path,
                         "%s: every container is refused (exit 2)", err->msg);
          return;
        }
    }
  if (r > 0)
    pg_doctor_add (c->r, "patchgate", "hook config", PG_DOCTOR_OK, path, "loads; root's alone; on_error %s",
                   cfg.on_error_allow ? "allow" : "deny");
  if (cfg.on_error_allow)
    pg_doctor_add (c->r, "patchgate", "on_error", PG_DOCTOR_WARN, path,
                   "on_error is allow: a missing, locked or corrupt database lets every container start");

  free (why);
  why = NULL;
  r = pg_root_only (cfg.policy_db, &missing, &why);
  if (r < 0)
    {
      pg_doctor_add (c->r, "patchgate", "database", PG_DOCTOR_FAIL, cfg.policy_db,
                     "%s: every container is %s", why,
                     cfg.on_error_allow ? "ALLOWED (on_error allow)" : "refused");
      return;
    }
  if (r == 0)
    {
      pg_doctor_add (c->r, "patchgate", "database", PG_DOCTOR_FAIL, cfg.policy_db,
                     "%s: whoever can write it decides what starts", why);
      return;
    }
  {
    cleanup_free char *policy = NULL;
    cleanup_free char *version = NULL;
    pg_store *store = NULL;
    int64_t set_at = 0;
    if (store_open (cfg.policy_db, PG_STORE_READONLY, &store, &err) < 0
        || store_begin (store, false, &err) < 0
        || store_get_policy (store, &policy, &version, &set_at, &err) < 0)
      {
        if (store)
          store_close (store);
        pg_doctor_add (c->r, "patchgate", "database", PG_DOCTOR_FAIL, cfg.policy_db,
                       "%s: every container is %s", err->msg,
                       cfg.on_error_allow ? "ALLOWED (on_error allow)" : "refused");
        return;
      }
    store_rollback (store);
    store_close (store);
    if (policy == NULL)
      pg_doctor_add (c->r, "patchgate", "database", PG_DOCTOR_FAIL, cfg.policy_db,
                     "no policy stored (patchgate policy set FILE, or activate a bundle)");
    else
      pg_doctor_add (c->r, "patchgate", "database", PG_DOCTOR_OK, cfg.policy_db, "root's alone; policy %s",
                     version ? version : "?");
  }
}

static void
run_canary (struct ctx *c)
{
  const struct pg_doctor_options *o = c->o;
  struct pg_canary can;
  cleanup_error pg_error_t err = NULL;
  bool podman = selected (c, "podman", in_path ("podman")) && in_path ("podman");
  bool runc = selected (c, "runc", in_path ("runc")) && in_path ("runc");
  bool docker = selected (c, "docker", in_path ("dockerd") || o->docker_daemon_json) && in_path ("docker");

  if (!podman && !runc && !docker)
    {
      pg_doctor_add (c->r, "doctor", "canary", PG_DOCTOR_INFO, NULL,
                     "no podman, runc or docker here to start it");
      return;
    }
  if (pg_canary_build (&can, &err) < 0)
    {
      pg_doctor_add (c->r, "doctor", "canary", PG_DOCTOR_FAIL, NULL, "%s", err->msg);
      pg_canary_free (&can);
      return;
    }
  if (podman)
    {
      char **args = NULL;
      size_t n = 0;
      for (size_t i = 0; i < o->n_podman_args; i++)
        strv_append (&args, &n, o->podman_args[i]);
      for (size_t i = 0; i < o->n_hooks_dirs; i++)
        {
          strv_append (&args, &n, "--hooks-dir");
          strv_append (&args, &n, o->hooks_dirs[i]);
        }
      pg_canary_podman (&can, args, n, o->containers_conf, c->r);
      strv_free (args, n);
    }
  if (runc)
    pg_canary_bare (&can, "runc", o->runc_snippet ? o->runc_snippet : PG_DEFAULT_RUNC_SNIPPET, c->r);
  if (docker)
    pg_canary_docker (&can, o->docker_host, c->r);
  if (selected (c, "containerd", in_path ("containerd")))
    pg_doctor_add (c->r, "containerd", "canary", PG_DOCTOR_INFO, NULL,
                   "not started through the CRI plugin (no CRI client here): its base spec is checked above");
  pg_canary_free (&can);
}

int
pg_doctor_run (const struct pg_doctor_options *o, struct pg_doctor_report *r, pg_error_t *err)
{
  struct ctx c = { .o = o, .r = r };
  static const char *const known[] = { "podman", "crio", "containerd", "docker", "runc" };

  memset (r, 0, sizeof (*r));
  for (size_t i = 0; i < o->n_engines; i++)
    {
      bool ok = false;
      for (size_t k = 0; k < sizeof (known) / sizeof (known[0]); k++)
        ok |= strcmp (o->engines[i], known[k]) == 0;
      if (!ok)
        return pg_make_error (err, 0, "unknown engine `%s` (podman, crio, containerd, docker, runc)",
                              o->engines[i]);
    }
  check_podman (&c);
  check_crio (&c);
  check_containerd (&c);
  check_docker (&c);
  check_runc (&c);
  if (o->hook_config)
    add_config (&c, o->hook_config, strcmp (o->hook_config, PG_DEFAULT_HOOK_CONFIG) != 0);
  for (size_t i = 0; i < c.n_configs; i++)
    check_config (&c, c.configs[i], c.named[i]);
  if (o->canary)
    run_canary (&c);
  strv_free (c.configs, c.n_configs);
  free (c.named);
  return 0;
}
