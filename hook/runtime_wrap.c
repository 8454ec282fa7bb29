/* patchgate-runtime's logic (hook/runtime_main.c is the program).
 *
 * config.json is edited as text: the hook is spliced into
 * hooks.createRuntime and every other byte stays as the engine wrote it.
 * Re-serialising would lose what jansson cannot hold (unsigned 64-bit
 * rlimits such as RLIM_INFINITY) and reorder nothing useful.  jansson still
 * validates the whole document first.  Keys are matched as runc's Go
 * decoder matches them: exactly, else ASCII case-insensitively.
 */
#include "runtime_wrap.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SCAN_MAX_DEPTH 512

/* --- the command line --------------------------------------------------- */

/* runc's and crun's global options that take a value.  */
static const char *const global_value_opts[]
    = { "root", "log", "log-format", "log-level", "criu", "rootless", "cgroup-manager", NULL };
/* create's and run's options that take a value, bundle aside.  */
static const char *const create_value_opts[]
    = { "console-socket", "pid-file", "preserve-fds", "pidfd-socket", NULL };

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
  return a->command && (strcmp (a->command, "create") == 0 || strcmp (a->command, "run") == 0);
}

/* --- the hook entry ------------------------------------------------------ */

void
hook_entry_free (struct pg_hook_entry *h)
{
  free (h->path);
  strv_free (h->args, h->n_args);
  strv_free (h->env, h->n_env);
  memset (h, 0, sizeof (*h));
}

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

int
runtime_hook_entry (const struct pg_hook_config *cfg, const char *self, struct pg_hook_entry *h,
                    pg_error_t *err)
{
  static const char *const passed_env[]
      = { "PATCHGATE_NOW", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
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
  strv_append (&h->args, &h->n_args, "--config");
  strv_append (&h->args, &h->n_args, cfg && cfg->path ? cfg->path : PG_DEFAULT_HOOK_CONFIG);
  strv_append (&h->env, &h->n_env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (size_t i = 0; i < sizeof (passed_env) / sizeof (passed_env[0]); i++)
    {
      const char *v = getenv (passed_env[i]);
      if (v && *v)
        {
          cleanup_free char *kv = NULL;
          xasprintf (&kv, "%s=%s", passed_env[i], v);
          strv_append (&h->env, &h->n_env, kv);
        }
    }
  h->timeout = PG_HOOK_TIMEOUT;
  return 0;
}

static json_t *
strv_json (char **v, size_t n)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

json_t *
hook_entry_json (const struct pg_hook_entry *h)
{
  json_t *o = json_object ();
  json_object_set_new (o, "path", json_string (h->path));
  json_object_set_new (o, "args", strv_json (h->args, h->n_args));
  if (h->n_env)
    json_object_set_new (o, "env", strv_json (h->env, h->n_env));
  if (h->timeout > 0)
    json_object_set_new (o, "timeout", json_integer (h->timeout));
  return o;
}

/* --- splicing config.json ------------------------------------------------ */

struct scan
{
  const char *s;
  size_t n;
  size_t i;
};

static void
scan_ws (struct scan *c)
{
  while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
    c->i++;
}

static int
scan_string (struct scan *c)
{
  if (c->i >= c->n || c->s[c->i] != '"')
    return -1;
  for (c->i++; c->i < c->n; c->i++)
    {
      if (c->s[c->i] == '\\')
        c->i++;
      else if (c->s[c->i] == '"')
        {
          c->i++;
          return 0;
        }
    }
  return -1;
}

static int scan_container (struct scan *c, int depth);

static int
scan_value (struct scan *c, int depth)
{
  scan_ws (c);
  if (c->i >= c->n)
    return -1;
  if (c->s[c->i] == '"')
    return scan_string (c);
  if (c->s[c->i] == '{' || c->s[c->i] == '[')
    return scan_container (c, depth + 1);
  while (c->i < c->n && strchr (",]} \t\r\n", c->s[c->i]) == NULL)
    c->i++;
  return 0;
}

/* One member of an object ("key": value) or element of an array.  */
struct member
{
  size_t key_start, key_end;
  size_t value_start, value_end;
};

/* Walks the object or array at C->i, calling FN on each member; leaves C->i
   after the closing bracket and *LAST_END at the end of the last member's
   value (just after the opening bracket when empty).  */
typedef int (*member_fn) (const struct scan *c, const struct member *m, void *data);

static int
scan_members (struct scan *c, int depth, member_fn fn, void *data, size_t *last_end)
{
  char close = c->s[c->i] == '{' ? '}' : ']';
  struct member m;

  if (depth > SCAN_MAX_DEPTH)
    return -1;
  c->i++;
  *last_end = c->i;
  scan_ws (c);
  if (c->i < c->n && c->s[c->i] == close)
    {
      c->i++;
      return 0;
    }
  for (;;)
    {
      memset (&m, 0, sizeof (m));
      scan_ws (c);
      if (close == '}')
        {
          m.key_start = c->i;
          if (scan_string (c) < 0)
            return -1;
          m.key_end = c->i;
          scan_ws (c);
          if (c->i >= c->n || c->s[c->i] != ':')
            return -1;
          c->i++;
        }
      scan_ws (c);
      m.value_start = c->i;
      if (scan_value (c, depth) < 0)
        return -1;
      m.value_end = c->i;
      *last_end = c->i;
      if (fn && fn (c, &m, data) < 0)
        return -1;
      scan_ws (c);
      if (c->i < c->n && c->s[c->i] == ',')
        {
          c->i++;
          continue;
        }
      if (c->i < c->n && c->s[c->i] == close)
        {
          c->i++;
          return 0;
        }
      return -1;
    }
}

static int
scan_container (struct scan *c, int depth)
{
  size_t last;
  return scan_members (c, depth, NULL, NULL, &last);
}

/* The decoded key equals NAME, ASCII case-insensitively.  */
static bool
key_is (const struct scan *c, const struct member *m, const char *name)
{
  cleanup_json json_t *k = json_loadb (c->s + m->key_start, m->key_end - m->key_start, JSON_DECODE_ANY, NULL);
  return json_is_string (k) && strlen (json_string_value (k)) == json_string_length (k)
         && strcasecmp (json_string_value (k), name) == 0;
}

struct find
{
  const char *name;
  int found;
  struct member m;
};

static int
find_member (const struct scan *c, const struct member *m, void *data)
{
  struct find *f = data;
  if (!key_is (c, m, f->name))
    return 0;
  f->found++;
  f->m = *m;
  return 0;
}

/* The object at AT: the member named NAME, if any (two spellings of it are
   an error: Go would merge them), and where its last member ends.  */
static int
object_find (const char *s, size_t n, size_t at, const char *name, struct find *f, size_t *last_end,
             bool *empty, pg_error_t *err)
{
  struct scan c = { s, n, at };

  memset (f, 0, sizeof (*f));
  f->name = name;
  if (scan_members (&c, 0, find_member, f, last_end) < 0)
    return pg_make_error (err, 0, "config.json: cannot parse the object at offset %zu", at);
  if (f->found > 1)
    return pg_make_error (err, 0, "config.json: `%s` is given %d times", name, f->found);
  *empty = *last_end == at + 1;
  return 0;
}

static char *
text_splice (const char *s, size_t n, size_t from, size_t to, const char *ins, size_t *out_len)
{
  size_t il = strlen (ins);
  char *out = xmalloc0 (n - (to - from) + il + 1);
  memcpy (out, s, from);
  memcpy (out + from, ins, il);
  memcpy (out + from + il, s + to, n - to);
  *out_len = n - (to - from) + il;
  return out;
}

static bool
value_is_null (const char *s, const struct member *m)
{
  return m->value_end - m->value_start == 4 && strncmp (s + m->value_start, "null", 4) == 0;
}

/* Whether the createRuntime array at M already holds a hook with PATH.  */
static bool
array_has_hook (const char *s, const struct member *m, const char *path)
{
  cleanup_json json_t *arr = json_loadb (s + m->value_start, m->value_end - m->value_start,
                                         JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
  size_t i;
  json_t *e;

  json_array_foreach (arr, i, e)
  {
    const char *key;
    json_t *v;
    json_object_foreach (e, key, v)
    {
      if (strcasecmp (key, "path") == 0 && json_is_string (v) && strcmp (json_string_value (v), path) == 0)
        return true;
    }
  }
  return false;
}

static size_t
doc_start (const char *text, size_t len)
{
  struct scan c = { text, len, 0 };
  scan_ws (&c);
  return c.i;
}

int
oci_config_add_hook (const char *text, size_t len, const struct pg_hook_entry *h, char **out, size_t *out_len,
                     pg_error_t *err)
{
  cleanup_json json_t *doc = NULL;
  cleanup_json json_t *hj = hook_entry_json (h);
  cleanup_free char *hs = json_dumps (hj, JSON_COMPACT);
  cleanup_free char *ins = NULL;
  json_error_t jerr;
  struct find top, hooks;
  size_t last, at;
  bool empty;

  *out = NULL;
  *out_len = 0;
  doc = json_loadb (text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
  if (doc == NULL)
    return pg_make_error (err, 0, "config.json: invalid JSON at line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
  if (!json_is_object (doc))
    return pg_make_error (err, 0, "config.json: must be a JSON object");
  at = doc_start (text, len);
  if (object_find (text, len, at, "hooks", &top, &last, &empty, err) < 0)
    return -1;
  if (!top.found)
    {
      xasprintf (&ins, "%s\"hooks\":{\"createRuntime\":[%s]}", empty ? "" : ",", hs);
      *out = text_splice (text, len, last, last, ins, out_len);
      return 0;
    }
  if (value_is_null (text, &top.m))
    {
      xasprintf (&ins, "{\"createRuntime\":[%s]}", hs);
      *out = text_splice (text, len, top.m.value_start, top.m.value_end, ins, out_len);
      return 0;
    }
  if (text[top.m.value_start] != '{')
    return pg_make_error (err, 0, "config.json: `hooks` must be an object");
  if (object_find (text, len, top.m.value_start, "createRuntime", &hooks, &last, &empty, err) < 0)
    return -1;
  if (!hooks.found)
    {
      xasprintf (&ins, "%s\"createRuntime\":[%s]", empty ? "" : ",", hs);
      *out = text_splice (text, len, last, last, ins, out_len);
      return 0;
    }
  if (value_is_null (text, &hooks.m))
    {
      xasprintf (&ins, "[%s]", hs);
      *out = text_splice (text, len, hooks.m.value_start, hooks.m.value_end, ins, out_len);
      return 0;
    }
  if (text[hooks.m.value_start] != '[')
    return pg_make_error (err, 0, "config.json: `hooks.createRuntime` must be an array");
  if (array_has_hook (text, &hooks.m, h->path))
    return 0;
  {
    struct scan c = { text, len, hooks.m.value_start };
    if (scan_members (&c, 0, NULL, NULL, &last) < 0)
      return pg_make_error (err, 0, "config.json: cannot parse `hooks.createRuntime`");
  }
  xasprintf (&ins, "%s%s", last == hooks.m.value_start + 1 ? "" : ",", hs);
  *out = text_splice (text, len, last, last, ins, out_len);
  return 0;
}

/* --- writing config.json ------------------------------------------------- */

/* A temp file beside config.json, with its mode and owner, written and
   fsync'd, renamed over it, and the directory fsync'd.  */
static int
replace_config (const char *bundle, int dirfd, const struct stat *orig, const char *text, size_t len,
                pg_error_t *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  int ret = -1;

  xasprintf (&tmp, "%s/.config.json.patchgate-XXXXXX", bundle);
  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    return pg_make_error (err, errno, "%s: create", tmp);
  if (fchmod (fd, orig->st_mode & 07777) < 0)
    pg_make_error (err, errno, "%s: chmod", tmp);
  else if (fchown (fd, orig->st_uid, orig->st_gid) < 0 && errno != EPERM)
    pg_make_error (err, errno, "%s: chown", tmp);
  else if (pg_write_all (fd, text, len, tmp, err) == 0)
    {
      if (fsync (fd) < 0)
        pg_make_error (err, errno, "%s: fsync", tmp);
      else if (renameat (AT_FDCWD, tmp, dirfd, "config.json") < 0)
        pg_make_error (err, errno, "%s/config.json: rename", bundle);
      else
        {
          fsync (dirfd);
          return 0;
        }
    }
  unlink (tmp);
  return ret;
}

int
bundle_add_hook (const char *bundle, const struct pg_hook_entry *h, bool *added, pg_error_t *err)
{
  cleanup_close int dirfd = -1;
  cleanup_close int fd = -1;
  cleanup_free char *name = NULL;
  cleanup_free char *buf = NULL;
  cleanup_free char *out = NULL;
  struct stat st;
  size_t len, out_len;

  *added = false;
  xasprintf (&name, "%s/config.json", bundle);
  dirfd = open (bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return pg_make_error (err, errno, "bundle %s", bundle);
  fd = openat (dirfd, "config.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 || fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "%s", name);
  if (!S_ISREG (st.st_mode))
    return pg_make_error (err, 0, "%s: not a regular file", name);
  if (read_all_fd (fd, name, PG_MAX_CONFIG_SIZE, &buf, &len, err) < 0)
    return -1;
  if (oci_config_add_hook (buf, len, h, &out, &out_len, err) < 0)
    return pg_error_wrap (err, "%s", bundle);
  if (out == NULL)
    return 0;
  if (replace_config (bundle, dirfd, &st, out, out_len, err) < 0)
    return -1;
  *added = true;
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
