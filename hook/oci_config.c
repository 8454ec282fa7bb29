/* patchgate-runtime: config.json, read as runc and crun read it, edited as
 * text.
 *
 * The document is parsed whole by the project's bounded parser first
 * (duplicate keys, depth, value count, trailing bytes: all refused), its
 * keys checked against the runtime-spec's field names, and only then
 * edited, as text: the hook arrays that must change are rewritten from
 * their own bytes and every other byte stays as the engine wrote it.
 * Re-serialising with jansson would not be exact: config.json holds
 * unsigned 64-bit numbers (rlimits, RLIM_INFINITY) that it cannot hold.
 */
#include "oci_config.h"
#include "base/json.h"

#include <string.h>
#include <sys/stat.h>

/* --- the hook entry ------------------------------------------------------ */

void
hook_entry_free (struct pg_hook_entry *h)
{
  free (h->path);
  strv_free (h->args, h->n_args);
  strv_free (h->env, h->n_env);
  memset (h, 0, sizeof (*h));
}

json_t *
hook_entry_json (const struct pg_hook_entry *h)
{
  json_t *o = json_object ();
  json_object_set_new (o, "path", json_string (h->path));
  json_object_set_new (o, "args", pg_json_strv (h->args, h->n_args));
  /* Always an env, even empty: a hook without one inherits the runtime's
     whole environment (runc and crun both).  */
  json_object_set_new (o, "env", pg_json_strv (h->env, h->n_env));
  if (h->timeout > 0)
    json_object_set_new (o, "timeout", json_integer (h->timeout));
  return o;
}

/* --- keys, as Go's encoding/json matches them ---------------------------- */

bool
oci_key_folds_to (const char *key, const char *field)
{
  const unsigned char *k = (const unsigned char *) key;

  for (; *field; field++)
    {
      unsigned char f = (unsigned char) *field;

      if (f >= 'a' && f <= 'z')
        f &= ~0x20;

      if (k[0] < 0x80)
        {
          unsigned char c = k[0] >= 'a' && k[0] <= 'z' ? k[0] & ~0x20 : k[0];
          if (c != f)
            return false;
          k++;
        }
      /* U+212A KELVIN SIGN and U+017F LATIN SMALL LETTER LONG S.  */
      else if (f == 'K' && k[0] == 0xE2 && k[1] == 0x84 && k[2] == 0xAA)
        k += 3;
      else if (f == 'S' && k[0] == 0xC5 && k[1] == 0xBF)
        k += 2;
      else
        return false;
    }
  return *k == '\0';
}

/* A struct of the runtime-spec (specs-go/config.go, v1.2 and the fields
   added since): its JSON field names, and those of its fields that are
   structs again (or arrays of structs) to check below it.  */
struct oci_struct;
struct oci_child
{
  const char *field;
  bool array;
  const struct oci_struct *type;
};
struct oci_struct
{
  const char *const *fields;
  const struct oci_child *children;
};

static const char *const hook_fields[] = { "path", "args", "env", "timeout", NULL };
static const struct oci_struct hook_struct = { hook_fields, NULL };

/* Every stage, also those that run in the container's namespaces: an entry
   anywhere is a hook a runtime runs.  */
static const char *const hook_stages[]
    = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", NULL };
static const struct oci_child hooks_children[] = { { "prestart", true, &hook_struct },
                                                   { "createRuntime", true, &hook_struct },
                                                   { "createContainer", true, &hook_struct },
                                                   { "startContainer", true, &hook_struct },
                                                   { "poststart", true, &hook_struct },
                                                   { "poststop", true, &hook_struct },
                                                   { NULL, false, NULL } };
static const struct oci_struct hooks_struct = { hook_stages, hooks_children };

/* Not hooks, but what the container is (its process, its root filesystem,
   its mounts, its namespaces): runc and crun must not read two different
   containers either.  Below these (linux.resources, linux.seccomp, ...)
   only limits are described; they can neither move a hook nor reach the
   hook's input.  */
static const char *const process_fields[] = { "terminal",
                                              "consoleSize",
                                              "user",
                                              "args",
                                              "commandLine",
                                              "env",
                                              "cwd",
                                              "capabilities",
                                              "rlimits",
                                              "noNewPrivileges",
                                              "apparmorProfile",
                                              "oomScoreAdj",
                                              "scheduler",
                                              "selinuxLabel",
                                              "ioPriority",
                                              "execCPUAffinity",
                                              NULL };
static const struct oci_struct process_struct = { process_fields, NULL };
static const char *const root_fields[] = { "path", "readonly", NULL };
static const struct oci_struct root_struct = { root_fields, NULL };
static const char *const linux_fields[]
    = { "uidMappings", "gidMappings",   "timeOffsets", "sysctl",   "resources",
        "cgroupsPath", "namespaces",    "devices",     "seccomp",  "rootfsPropagation",
        "maskedPaths", "readonlyPaths", "mountLabel",  "intelRdt", "personality",
        "netDevices",  "memoryPolicy",  NULL };
static const char *const namespace_fields[] = { "type", "path", NULL };
static const struct oci_struct namespace_struct = { namespace_fields, NULL };
static const struct oci_child linux_children[]
    = { { "namespaces", true, &namespace_struct }, { NULL, false, NULL } };
static const struct oci_struct linux_struct = { linux_fields, linux_children };
static const char *const mount_fields[]
    = { "destination", "type", "source", "options", "uidMappings", "gidMappings", NULL };
static const struct oci_struct mount_struct = { mount_fields, NULL };

static const char *const spec_fields[]
    = { "ociVersion",  "process", "root",    "hostname", "domainname", "mounts", "hooks",
        "annotations", "linux",   "solaris", "windows",  "vm",         "zos",    NULL };
static const struct oci_child spec_children[]
    = { { "hooks", false, &hooks_struct }, { "process", false, &process_struct },
        { "root", false, &root_struct },   { "linux", false, &linux_struct },
        { "mounts", true, &mount_struct }, { NULL, false, NULL } };
static const struct oci_struct spec_struct = { spec_fields, spec_children };

static int check_struct (json_t *obj, const struct oci_struct *s, const char *where, pg_error_t *err);

static int
check_child (json_t *v, const struct oci_child *c, const char *where, pg_error_t *err)
{
  cleanup_free char *sub = NULL;
  json_t *e;
  size_t i;

  if (!c->array)
    {
      xasprintf (&sub, "%s%s%s", where, *where ? "." : "", c->field);
      return check_struct (v, c->type, sub, err);
    }
  json_array_foreach (v, i, e)
    {
      free (sub);
      xasprintf (&sub, "%s%s%s[%zu]", where, *where ? "." : "", c->field, i);
      if (check_struct (e, c->type, sub, err) < 0)
        return -1;
    }
  return 0;
}

/* OBJ (when an object; wrong types are runc's to refuse) against S.  */
static int
check_struct (json_t *obj, const struct oci_struct *s, const char *where, pg_error_t *err)
{
  const char *key;
  json_t *v;

  if (!json_is_object (obj))
    return 0;
  json_object_foreach (obj, key, v)
    {
      for (const char *const *f = s->fields; *f; f++)
        if (strcmp (key, *f) != 0 && oci_key_folds_to (key, *f))
          return pg_make_error (err, 0,
                                "config.json: key `%s%s%s` is `%s` spelled another way: runc would read it "
                                "as `%s` and crun would ignore it",
                                where, *where ? "." : "", key, *f, *f);
    }
  for (const struct oci_child *c = s->children; c && c->field; c++)
    if (check_child (json_object_get (obj, c->field), c, where, err) < 0)
      return -1;
  return 0;
}

int
oci_config_check_keys (json_t *config, pg_error_t *err)
{
  return check_struct (config, &spec_struct, "", err);
}

/* --- which entries are patchgate's --------------------------------------- */

static const char *
last_component (const char *path)
{
  const char *s = strrchr (path, '/');
  return s ? s + 1 : path;
}

bool
oci_hook_is_patchgate (const char *path, const struct pg_hook_entry *h)
{
  struct stat a, b;

  if (strcmp (last_component (path), "patchgate-hook") == 0
      || strcmp (last_component (path), last_component (h->path)) == 0)
    return true;
  /* Another name for the same file: a symlink or a hard link to it.  */
  return path[0] == '/' && stat (path, &a) == 0 && stat (h->path, &b) == 0 && a.st_dev == b.st_dev
         && a.st_ino == b.st_ino;
}

/* The hooks object must be what runc can decode (else the runtime would
   refuse it anyway, after patchgate looked elsewhere): stages arrays or
   null, entries objects with a string path.  *HAS_OURS[i]: stage i holds a
   patchgate entry.  */
static int
check_hooks (json_t *hooks, const struct pg_hook_entry *h, bool has_ours[], pg_error_t *err)
{
  for (size_t s = 0; hook_stages[s]; s++)
    {
      json_t *stage = json_object_get (hooks, hook_stages[s]);
      json_t *e;
      size_t i;

      has_ours[s] = false;
      if (stage == NULL || json_is_null (stage))
        continue;
      if (!json_is_array (stage))
        return pg_make_error (err, 0, "config.json: `hooks.%s` must be an array", hook_stages[s]);
      json_array_foreach (stage, i, e)
        {
          const char *path = pg_json_string (e, "path");
          if (!json_is_object (e) || path == NULL)
            return pg_make_error (err, 0,
                                  "config.json: `hooks.%s[%zu]` must be an object with a string `path`",
                                  hook_stages[s], i);
          if (oci_hook_is_patchgate (path, h))
            has_ours[s] = true;
        }
    }
  return 0;
}

/* --- scanning the text ---------------------------------------------------- */

/* The text was parsed whole before any of this runs, so the scanner may
   assume valid JSON; it still never reads past the end.  */
struct scan
{
  const char *s;
  size_t n;
  size_t i;
};

static void
scan_ws (struct scan *c)
{
  while (c->i < c->n && pg_json_is_space (c->s[c->i]))
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

/* One member of an object ("key": value) or element of an array.  */
struct member
{
  size_t key_start, key_end;
  size_t value_start, value_end;
};

struct members
{
  struct member *v;
  size_t n;
  size_t open, close; /* the brackets' offsets */
};

static void
members_free (struct members *m)
{
  free (m->v);
  memset (m, 0, sizeof (*m));
}
#define cleanup_members __attribute__ ((cleanup (members_free)))

static int scan_value (struct scan *c, int depth);

/* The object or array at C->i; OUT (when not NULL) gets its members.
   Leaves C->i after the closing bracket.  */
static int
scan_container (struct scan *c, int depth, struct members *out)
{
  char close = c->s[c->i] == '{' ? '}' : ']';
  struct member m;
  size_t cap = 0;

  if (depth > PG_MAX_JSON_DEPTH)
    return -1;
  if (out)
    out->open = c->i;
  c->i++;
  scan_ws (c);
  if (c->i < c->n && c->s[c->i] == close)
    goto closed;
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
          scan_ws (c);
        }
      m.value_start = c->i;
      if (scan_value (c, depth) < 0)
        return -1;
      m.value_end = c->i;
      if (out)
        {
          if (out->n == cap)
            {
              cap = cap ? cap * 2 : 8;
              out->v = xrealloc (out->v, cap * sizeof (m));
            }
          out->v[out->n++] = m;
        }
      scan_ws (c);
      if (c->i < c->n && c->s[c->i] == ',')
        {
          c->i++;
          continue;
        }
      if (c->i < c->n && c->s[c->i] == close)
        goto closed;
      return -1;
    }
closed:
  if (out)
    out->close = c->i;
  c->i++;
  return 0;
}

static int
scan_value (struct scan *c, int depth)
{
  scan_ws (c);
  if (c->i >= c->n)
    return -1;
  if (c->s[c->i] == '"')
    return scan_string (c);
  if (c->s[c->i] == '{' || c->s[c->i] == '[')
    return scan_container (c, depth + 1, NULL);
  while (c->i < c->n && strchr (",]} \t\r\n", c->s[c->i]) == NULL)
    c->i++;
  return 0;
}

/* The members of the object or array that starts at AT.  */
static int
scan_at (const char *s, size_t n, size_t at, struct members *out, pg_error_t *err)
{
  struct scan c = { s, n, at };

  memset (out, 0, sizeof (*out));
  if (at >= n || (s[at] != '{' && s[at] != '['))
    return pg_make_error (err, 0, "config.json: no object or array at offset %zu", at);
  if (scan_container (&c, 0, out) < 0)
    return pg_make_error (err, 0, "config.json: cannot scan the value at offset %zu", at);
  return 0;
}

/* The decoded key of M is NAME exactly (keys may be written with escapes:
   "ho\u006fks" is `hooks`).  */
static bool
key_is (const char *s, const struct member *m, const char *name)
{
  cleanup_json json_t *k = json_loadb (s + m->key_start, m->key_end - m->key_start, JSON_DECODE_ANY, NULL);
  return json_is_string (k) && strlen (json_string_value (k)) == json_string_length (k)
         && strcmp (json_string_value (k), name) == 0;
}

static const struct member *
members_find (const char *s, const struct members *ms, const char *name)
{
  for (size_t i = 0; i < ms->n; i++)
    if (key_is (s, &ms->v[i], name))
      return &ms->v[i];
  return NULL;
}

static bool
value_is_null (const char *s, const struct member *m)
{
  return m->value_end - m->value_start == 4 && memcmp (s + m->value_start, "null", 4) == 0;
}

/* --- the edit -------------------------------------------------------------- */

/* Replacements of [from, to) by text, in order, not overlapping.  */
struct edit
{
  size_t from, to;
  char *text;
};
struct edits
{
  struct edit v[8];
  size_t n;
};

static void
edits_free (struct edits *e)
{
  for (size_t i = 0; i < e->n; i++)
    free (e->v[i].text);
  e->n = 0;
}
#define cleanup_edits __attribute__ ((cleanup (edits_free)))

/* TEXT is taken.  */
static void
edits_add (struct edits *e, size_t from, size_t to, char *text)
{
  if (e->n == sizeof (e->v) / sizeof (e->v[0]))
    abort ();
  e->v[e->n].from = from;
  e->v[e->n].to = to;
  e->v[e->n].text = text;
  e->n++;
}

static int
edit_cmp (const void *a, const void *b)
{
  const struct edit *x = a, *y = b;
  return x->from < y->from ? -1 : x->from > y->from;
}

static char *
edits_apply (const char *s, size_t n, struct edits *e, size_t *out_len)
{
  size_t len = n, at = 0, o = 0;
  char *out;

  qsort (e->v, e->n, sizeof (e->v[0]), edit_cmp);
  for (size_t i = 0; i < e->n; i++)
    len = len - (e->v[i].to - e->v[i].from) + strlen (e->v[i].text);
  out = xmalloc0 (len + 1);
  for (size_t i = 0; i < e->n; i++)
    {
      size_t tl = strlen (e->v[i].text);
      memcpy (out + o, s + at, e->v[i].from - at);
      o += e->v[i].from - at;
      memcpy (out + o, e->v[i].text, tl);
      o += tl;
      at = e->v[i].to;
    }
  memcpy (out + o, s + at, n - at);
  *out_len = len;
  return out;
}

/* Appends S[from, to) to *BUF (of *LEN bytes).  */
static void
buf_add (char **buf, size_t *len, const char *s, size_t from, size_t to)
{
  *buf = xrealloc (*buf, *len + (to - from) + 1);
  memcpy (*buf + *len, s + from, to - from);
  *len += to - from;
  (*buf)[*len] = '\0';
}

/* The array ARR of stage STAGE without its patchgate entries, and with
   APPEND (when not NULL) as its last element.  The entries kept keep their
   bytes, and the separator that preceded each in the original.  */
static char *
rebuild_stage (const char *s, const struct members *arr, json_t *stage, const struct pg_hook_entry *h,
               const char *append)
{
  char *out = NULL;
  size_t len = 0;
  bool any = false;

  buf_add (&out, &len, s, arr->open, arr->open + 1);
  if (arr->n == 0)
    {
      if (append)
        buf_add (&out, &len, append, 0, strlen (append));
      buf_add (&out, &len, s, arr->open + 1, arr->close + 1);
      return out;
    }
  /* Whatever preceded the first element: the array's opening layout.  */
  buf_add (&out, &len, s, arr->open + 1, arr->v[0].value_start);
  for (size_t i = 0; i < arr->n; i++)
    {
      const char *path = pg_json_string (json_array_get (stage, i), "path");
      if (path && oci_hook_is_patchgate (path, h))
        continue;
      if (any)
        buf_add (&out, &len, s, arr->v[i - 1].value_end, arr->v[i].value_start);
      buf_add (&out, &len, s, arr->v[i].value_start, arr->v[i].value_end);
      any = true;
    }
  if (append)
    {
      if (any)
        buf_add (&out, &len, ",", 0, 1);
      buf_add (&out, &len, append, 0, strlen (append));
    }
  buf_add (&out, &len, s, arr->v[arr->n - 1].value_end, arr->close + 1);
  return out;
}

/* The edits inside the hooks object at HM.  */
static int
edit_hooks (const char *s, size_t n, const struct member *hm, json_t *hooks, const struct pg_hook_entry *h,
            const char *entry, struct edits *e, pg_error_t *err)
{
  cleanup_members struct members ms = { 0 };
  bool has_ours[sizeof (hook_stages) / sizeof (hook_stages[0])];
  const struct member *cr;
  char *t = NULL;

  if (check_hooks (hooks, h, has_ours, err) < 0)
    return -1;
  if (scan_at (s, n, hm->value_start, &ms, err) < 0)
    return -1;
  for (size_t i = 0; hook_stages[i]; i++)
    {
      bool create_runtime = strcmp (hook_stages[i], "createRuntime") == 0;
      const struct member *m = members_find (s, &ms, hook_stages[i]);
      cleanup_members struct members arr = { 0 };

      if (m == NULL || value_is_null (s, m) || (!has_ours[i] && !create_runtime))
        continue;
      if (scan_at (s, n, m->value_start, &arr, err) < 0)
        return -1;
      edits_add (
          e, m->value_start, m->value_end,
          rebuild_stage (s, &arr, json_object_get (hooks, hook_stages[i]), h, create_runtime ? entry : NULL));
    }
  cr = members_find (s, &ms, "createRuntime");
  if (cr && value_is_null (s, cr))
    {
      xasprintf (&t, "[%s]", entry);
      edits_add (e, cr->value_start, cr->value_end, t);
    }
  else if (cr == NULL)
    {
      size_t at = ms.n ? ms.v[ms.n - 1].value_end : ms.open + 1;
      xasprintf (&t, "%s\"createRuntime\":[%s]", ms.n ? "," : "", entry);
      edits_add (e, at, at, t);
    }
  return 0;
}

int
oci_config_set_hook (const char *text, size_t len, const struct pg_hook_entry *h, char **out, size_t *out_len,
                     pg_error_t *err)
{
  cleanup_json json_t *doc = NULL;
  cleanup_json json_t *hj = hook_entry_json (h);
  cleanup_free char *entry = json_dumps (hj, JSON_COMPACT);
  cleanup_members struct members top = { 0 };
  cleanup_edits struct edits e = { 0 };
  const struct member *hm;
  json_t *hooks;
  struct scan c = { text, len, 0 };
  char *t = NULL;

  *out = NULL;
  *out_len = 0;
  /* Integers as reals: rlimits are unsigned 64-bit; this parse only
     validates, nothing of it is written back.  */
  if (pg_json_parse_flags (text, len, "config.json", JSON_DECODE_INT_AS_REAL, &doc, err) < 0)
    return -1;
  if (!json_is_object (doc))
    return pg_make_error (err, 0, "config.json: must be a JSON object");
  if (oci_config_check_keys (doc, err) < 0)
    return -1;
  hooks = json_object_get (doc, "hooks");
  if (hooks && !json_is_object (hooks) && !json_is_null (hooks))
    return pg_make_error (err, 0, "config.json: `hooks` must be an object");

  scan_ws (&c);
  if (scan_at (text, len, c.i, &top, err) < 0)
    return -1;
  hm = members_find (text, &top, "hooks");
  if (hm == NULL)
    {
      size_t at = top.n ? top.v[top.n - 1].value_end : top.open + 1;
      xasprintf (&t, "%s\"hooks\":{\"createRuntime\":[%s]}", top.n ? "," : "", entry);
      edits_add (&e, at, at, t);
    }
  else if (json_is_null (hooks))
    {
      xasprintf (&t, "{\"createRuntime\":[%s]}", entry);
      edits_add (&e, hm->value_start, hm->value_end, t);
    }
  else if (edit_hooks (text, len, hm, hooks, h, entry, &e, err) < 0)
    return -1;

  *out = edits_apply (text, len, &e, out_len);
  if (*out_len == len && memcmp (*out, text, len) == 0)
    {
      free (*out);
      *out = NULL;
      *out_len = 0;
    }
  return 0;
}
