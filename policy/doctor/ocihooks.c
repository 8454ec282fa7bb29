/* oci-hooks(5) directories, read as containers/common's pkg/hooks reads
 * them (doctor/ocihooks.h): hooks.Read, hooks/1.0.0 Read and Validate,
 * When.Match for which containers a hook runs for, ReadDir and New for
 * how directories merge and which errors the engine ignores.  */
#include "doctor/ocihooks.h"
#include "doctor/goregexp.h"
#include "base/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define OCI_HOOK_VERSION "1.0.0"

bool
pg_is_patchgate_hook (const char *hook_path)
{
  const char *slash;
  if (hook_path == NULL)
    return false;
  slash = strrchr (hook_path, '/');
  return strcmp (slash ? slash + 1 : hook_path, "patchgate-hook") == 0;
}

/* Go's encoding/json matches an object key to a struct field by name,
   case-insensitively, where the Kelvin sign folds to k and the long s to
   s.  */
static bool
go_fold_eq (const char *key, const char *field)
{
  const unsigned char *k = (const unsigned char *) key;
  for (; *field; field++)
    {
      char f = (char) (*field | 0x20);
      if (f == 'k' && k[0] == 0xe2 && k[1] == 0x84 && k[2] == 0xaa)
        k += 3;
      else if (f == 's' && k[0] == 0xc5 && k[1] == 0xbf)
        k += 2;
      else if (*k < 0x80 && (char) (*k | 0x20) == f && ((*k | 0x20) >= 'a' && (*k | 0x20) <= 'z'))
        k++;
      else if (*k == (unsigned char) *field)
        k++;
      else
        return false;
    }
  return *k == '\0';
}

/* The value Go would decode into FIELD of OBJ: every key that matches it
   sets it, in document order, so the last one counts.  */
static json_t *
go_field (json_t *obj, const char *field)
{
  const char *key;
  json_t *v, *found = NULL;
  if (!json_is_object (obj))
    return NULL;
  json_object_foreach (obj, key, v)
    {
      if (strcmp (key, field) == 0 || go_fold_eq (key, field))
        found = v;
    }
  return found;
}

static const char *
json_kind (json_t *v)
{
  switch (json_typeof (v))
    {
    case JSON_OBJECT:
      return "object";
    case JSON_ARRAY:
      return "array";
    case JSON_STRING:
      return "string";
    case JSON_INTEGER:
    case JSON_REAL:
      return "number";
    case JSON_TRUE:
    case JSON_FALSE:
      return "bool";
    default:
      return "null";
    }
}

static int
type_error (char **error, json_t *v, const char *field, const char *gotype)
{
  if (*error == NULL)
    xasprintf (error, "json: cannot unmarshal %s into Go struct field %s of type %s", json_kind (v), field,
               gotype);
  return -1;
}

static int
go_string (json_t *v, const char *field, char **out, char **error)
{
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return type_error (error, v, field, "string");
  free (*out);
  *out = xstrdup (json_string_value (v));
  return 0;
}

/* []string: NULL stays nil (*SET false); null items are "".  */
static int
go_strings (json_t *v, const char *field, char ***out, size_t *n, bool *set, char **error)
{
  size_t i;
  json_t *item;
  if (set)
    *set = false;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return type_error (error, v, field, "[]string");
  if (set)
    *set = true;
  json_array_foreach (v, i, item)
    {
      if (json_is_null (item))
        strv_append (out, n, "");
      else if (!json_is_string (item))
        return type_error (error, item, field, "string");
      else
        strv_append (out, n, json_string_value (item));
    }
  return 0;
}

static int
go_bool_ptr (json_t *v, const char *field, bool *set, bool *value, char **error)
{
  *set = false;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_boolean (v))
    return type_error (error, v, field, "bool");
  *set = true;
  *value = json_is_true (v);
  return 0;
}

/* The patterns of `when`: annotations (key and value patterns) and
   commands, checked as regexp.Compile would.  */
struct when
{
  bool always_set, always;
  bool bind_set, bind;
  char **ann_keys, **ann_values;
  size_t n_ann;
  char **commands;
  size_t n_commands;
};

static void
when_free (struct when *w)
{
  strv_free (w->ann_keys, w->n_ann);
  strv_free (w->ann_values, w->n_ann);
  strv_free (w->commands, w->n_commands);
}

static int
decode_when (json_t *v, struct when *w, char **error)
{
  json_t *ann;
  const char *key;
  json_t *val;
  size_t n_values = 0;

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_object (v))
    return type_error (error, v, "Hook.when", "hook.When");
  if (go_bool_ptr (go_field (v, "always"), "Hook.when.always", &w->always_set, &w->always, error) < 0
      || go_bool_ptr (go_field (v, "hasBindMounts"), "Hook.when.hasBindMounts", &w->bind_set, &w->bind, error)
             < 0
      || go_strings (go_field (v, "commands"), "Hook.when.commands", &w->commands, &w->n_commands, NULL,
                     error)
             < 0)
    return -1;
  ann = go_field (v, "annotations");
  if (ann == NULL || json_is_null (ann))
    return 0;
  if (!json_is_object (ann))
    return type_error (error, ann, "Hook.when.annotations", "map[string]string");
  json_object_foreach (ann, key, val)
    {
      if (!json_is_string (val) && !json_is_null (val))
        return type_error (error, val, "Hook.when.annotations", "string");
      strv_append (&w->ann_keys, &w->n_ann, key);
      strv_append (&w->ann_values, &n_values, json_is_string (val) ? json_string_value (val) : "");
    }
  return 0;
}

static bool
matches_everything (const char *re)
{
  static const char *const all[] = { "", ".*", "^", "^.*", ".*$", "^.*$", "(.*)", "^(.*)$" };
  for (size_t i = 0; i < sizeof (all) / sizeof (all[0]); i++)
    if (strcmp (re, all[i]) == 0)
      return true;
  return false;
}

/* When.Match with Or false, for which containers: every one, some, none.  */
static void
when_coverage (const struct when *w, struct pg_oci_hook_file *f)
{
  f->runs_always = false;
  if (w->always_set && !w->always)
    {
      f->when_why = xstrdup ("when.always is false: it never runs");
      return;
    }
  if (w->bind_set && !w->bind)
    {
      f->when_why = xstrdup ("when.hasBindMounts is false: it never runs");
      return;
    }
  if (w->bind_set)
    {
      f->when_why = xstrdup ("when.hasBindMounts: it runs only for containers with bind mounts");
      return;
    }
  if (w->n_ann > 0)
    {
      xasprintf (&f->when_why,
                 "when.annotations: it runs only for containers with an annotation matching %s=%s%s",
                 w->ann_keys[0], w->ann_values[0], w->n_ann > 1 ? " (and more)" : "");
      return;
    }
  if (w->n_commands > 0)
    {
      /* With commands, the command alone decides (`always` included).  */
      for (size_t i = 0; i < w->n_commands; i++)
        if (matches_everything (w->commands[i]))
          {
            f->runs_always = true;
            return;
          }
      xasprintf (&f->when_why, "when.commands: it runs only for containers whose command matches %s%s",
                 w->commands[0], w->n_commands > 1 ? " (or another of its patterns)" : "");
      return;
    }
  if (w->always_set && w->always)
    {
      f->runs_always = true;
      return;
    }
  f->when_why = xstrdup ("`when` sets no condition, and a hook matches only on one that holds: it never runs "
                         "(\"when\": {\"always\": true})");
}

static void
stage_coverage (struct pg_oci_hook_file *f)
{
  f->gates = false;
  for (size_t i = 0; i < f->n_stages; i++)
    if (strcmp (f->stages[i], "createRuntime") == 0 || strcmp (f->stages[i], "prestart") == 0)
      {
        f->gates = true;
        return;
      }
  if (f->n_stages == 0)
    f->stages_why = xstrdup ("`stages` is empty: it never runs");
  else if (strcmp (f->stages[0], "createContainer") == 0 || strcmp (f->stages[0], "startContainer") == 0)
    xasprintf (&f->stages_why,
               "stage %s runs in the container's mount namespace, where the hook's path is the image's: "
               "use createRuntime",
               f->stages[0]);
  else
    xasprintf (&f->stages_why, "stage %s does not run before the container starts: use createRuntime",
               f->stages[0]);
}

static bool
stage_known (const char *s, char *const *ext, size_t n_ext)
{
  static const char *const std[]
      = { "createContainer", "createRuntime", "prestart", "poststart", "poststop", "startContainer" };
  for (size_t i = 0; i < sizeof (std) / sizeof (std[0]); i++)
    if (strcmp (s, std[i]) == 0)
      return true;
  for (size_t i = 0; i < n_ext; i++)
    if (strcmp (s, ext[i]) == 0)
      return true;
  return false;
}

/* Hook.Validate, in its order: the first failure is the engine's error.  */
static void
validate (struct pg_oci_hook_file *f, const struct when *w, bool stages_set, char *const *ext, size_t n_ext)
{
  struct stat st;
  char *why = NULL;

  if (f->hook_path == NULL || *f->hook_path == '\0')
    {
      f->error = xstrdup ("missing required property: hook.path");
      return;
    }
  if (stat (f->hook_path, &st) < 0)
    {
      xasprintf (&f->error, "stat %s: %s", f->hook_path, strerror (errno));
      f->missing_binary = errno == ENOENT;
      return;
    }
  for (size_t i = 0; i < w->n_ann; i++)
    {
      if (pg_go_regexp_check (w->ann_keys[i], &why) < 0)
        {
          xasprintf (&f->error, "invalid annotation key \"%s\": error parsing regexp: %s", w->ann_keys[i],
                     why);
          free (why);
          return;
        }
      if (pg_go_regexp_check (w->ann_values[i], &why) < 0)
        {
          xasprintf (&f->error, "invalid annotation value \"%s\": error parsing regexp: %s", w->ann_values[i],
                     why);
          free (why);
          return;
        }
    }
  for (size_t i = 0; i < w->n_commands; i++)
    if (pg_go_regexp_check (w->commands[i], &why) < 0)
      {
        xasprintf (&f->error, "invalid command \"%s\": error parsing regexp: %s", w->commands[i], why);
        free (why);
        return;
      }
  if (!stages_set)
    {
      f->error = xstrdup ("missing required property: stages");
      return;
    }
  for (size_t i = 0; i < f->n_stages; i++)
    if (!stage_known (f->stages[i], ext, n_ext))
      {
        xasprintf (&f->error, "unknown stage \"%s\"", f->stages[i]);
        return;
      }
  f->loaded = true;
}

static void
decode (struct pg_oci_hook_file *f, json_t *doc, char *const *ext, size_t n_ext)
{
  json_t *hook, *version;
  struct when w = { 0 };
  bool stages_set = false;

  /* hooks.read: the version first, into struct{Version string}.  */
  if (!json_is_object (doc) && !json_is_null (doc))
    {
      xasprintf (&f->error, "version check: json: cannot unmarshal %s into Go value of type hooks.version",
                 json_kind (doc));
      return;
    }
  version = go_field (doc, "version");
  if (version && !json_is_null (version) && !json_is_string (version))
    {
      xasprintf (
          &f->error,
          "version check: json: cannot unmarshal %s into Go struct field version.version of type string",
          json_kind (version));
      return;
    }
  f->version = xstrdup (version && json_is_string (version) ? json_string_value (version) : "");
  if (strcmp (f->version, OCI_HOOK_VERSION) != 0)
    {
      f->legacy = strcmp (f->version, "0.1.0") == 0 || *f->version == '\0';
      if (f->legacy)
        xasprintf (&f->error,
                   "version \"%s\": the deprecated 0.1.0 format, which doctor does not check: "
                   "write version 1.0.0",
                   f->version);
      else
        xasprintf (&f->error, "unrecognized hook version: \"%s\"", f->version);
      return;
    }
  hook = go_field (doc, "hook");
  if (hook && !json_is_null (hook) && !json_is_object (hook))
    {
      type_error (&f->error, hook, "Hook.hook", "specs.Hook");
      goto out;
    }
  if (go_string (go_field (hook, "path"), "Hook.hook.path", &f->hook_path, &f->error) < 0
      || go_strings (go_field (hook, "args"), "Hook.hook.args", &f->args, &f->n_args, NULL, &f->error) < 0)
    goto out;
  {
    char **env = NULL;
    size_t n_env = 0;
    int r = go_strings (go_field (hook, "env"), "Hook.hook.env", &env, &n_env, NULL, &f->error);
    strv_free (env, n_env);
    if (r < 0)
      goto out;
  }
  {
    json_t *t = go_field (hook, "timeout");
    if (t && !json_is_null (t))
      {
        if (!json_is_integer (t))
          {
            type_error (&f->error, t, "Hook.hook.timeout", "int");
            goto out;
          }
        f->has_timeout = true;
        f->timeout = json_integer_value (t);
      }
  }
  if (decode_when (go_field (doc, "when"), &w, &f->error) < 0
      || go_strings (go_field (doc, "stages"), "Hook.stages", &f->stages, &f->n_stages, &stages_set,
                     &f->error)
             < 0)
    goto out;
  validate (f, &w, stages_set, ext, n_ext);
  when_coverage (&w, f);
  stage_coverage (f);
out:
  when_free (&w);
}

int
pg_oci_hook_read (const char *dir, const char *name, char *const *extension_stages, size_t n_ext,
                  struct pg_oci_hook_file *f, pg_error_t *err)
{
  cleanup_free char *buf = NULL;
  cleanup_json json_t *doc = NULL;
  json_error_t jerr;
  size_t len;

  memset (f, 0, sizeof (*f));
  f->dir = xstrdup (dir);
  f->name = xstrdup (name);
  xasprintf (&f->path, "%s/%s", dir, name);
  if (read_all_file (f->path, PG_MAX_HOOK_CONFIG_SIZE, &buf, &len, err) < 0)
    return -1;
  /* Go keeps the last of duplicate keys, as jansson does without
     JSON_REJECT_DUPLICATES.  */
  doc = json_loadb (buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (doc == NULL)
    {
      xasprintf (&f->error, "parsing hook \"%s\": %s (line %d)", f->path, jerr.text, jerr.line);
      return 0;
    }
  decode (f, doc, extension_stages, n_ext);
  return 0;
}

void
pg_oci_hook_file_free (struct pg_oci_hook_file *f)
{
  free (f->path);
  free (f->dir);
  free (f->name);
  free (f->error);
  free (f->overridden_by);
  free (f->version);
  free (f->hook_path);
  strv_free (f->args, f->n_args);
  strv_free (f->stages, f->n_stages);
  free (f->when_why);
  free (f->stages_why);
  memset (f, 0, sizeof (*f));
}

void
pg_oci_hooks_free (struct pg_oci_hooks *set)
{
  for (size_t i = 0; i < set->n_files; i++)
    pg_oci_hook_file_free (&set->files[i]);
  free (set->files);
  free (set->fatal);
  memset (set, 0, sizeof (*set));
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static bool
ends_with_json (const char *name)
{
  size_t n = strlen (name);
  return n >= 5 && strcmp (name + n - 5, ".json") == 0;
}

/* hooks.ReadDir and hooks.New: a directory's errors are collected, and
   New ignores them when the first one is "does not exist" (Go's %w chain
   keeps only the first error wrapped), else fails.  */
int
pg_oci_hooks_scan (char *const *dirs, size_t n_dirs, char *const *ext, size_t n_ext, struct pg_oci_hooks *set,
                   pg_error_t *err)
{
  memset (set, 0, sizeof (*set));
  for (size_t d = 0; d < n_dirs && set->fatal == NULL; d++)
    {
      DIR *dh = opendir (dirs[d]);
      struct dirent *de;
      char **names = NULL;
      size_t n_names = 0;
      bool dir_failed = false, first_is_notexist = false;
      char *first_error = NULL;

      if (dh == NULL)
        {
          if (errno == ENOENT)
            continue;
          xasprintf (&set->fatal, "open %s: %s", dirs[d], strerror (errno));
          break;
        }
      while ((de = readdir (dh)))
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
          strv_append (&names, &n_names, de->d_name);
      closedir (dh);
      if (n_names)
        qsort (names, n_names, sizeof (*names), cmp_names);
      for (size_t i = 0; i < n_names; i++)
        {
          struct pg_oci_hook_file f;
          cleanup_error pg_error_t rerr = NULL;

          if (!ends_with_json (names[i]))
            continue;
          if (pg_oci_hook_read (dirs[d], names[i], ext, n_ext, &f, &rerr) < 0)
            {
              /* A file that vanished, or a dangling link: skipped.  */
              if (rerr->status == ENOENT)
                {
                  pg_oci_hook_file_free (&f);
                  continue;
                }
              f.error = xstrdup (rerr->msg);
            }
          if (!f.loaded && f.error && !f.legacy)
            {
              if (!dir_failed)
                {
                  first_is_notexist = f.missing_binary;
                  first_error = xstrdup (f.error);
                }
              dir_failed = true;
            }
          if (f.loaded)
            for (size_t j = 0; j < set->n_files; j++)
              if (set->files[j].loaded && !set->files[j].overridden
                  && strcmp (set->files[j].name, f.name) == 0)
                {
                  set->files[j].overridden = true;
                  set->files[j].overridden_by = xstrdup (f.path);
                }
          set->files = xrealloc (set->files, (set->n_files + 1) * sizeof (*set->files));
          set->files[set->n_files++] = f;
        }
      strv_free (names, n_names);
      if (dir_failed && !first_is_notexist)
        {
          set->fatal = first_error;
          first_error = NULL;
        }
      free (first_error);
    }
  (void) err;
  return 0;
}
