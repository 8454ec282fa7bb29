/* patchgate: scanner report import: format detection, reading files,
   directories and stdin, and the one transaction around it all.  */
#include "import/import.h"
#include "base/json.h"
#include "base/file.h"
#include "base/digest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

/* A directory of reports is read whole before anything is imported; this
   caps the list so that a mistaken path (a whole filesystem) fails fast.  */
#define IMPORT_MAX_DIR_ENTRIES 100000

/* ------------------------------------------------------------------ */
/* Helpers shared by the importers.  */

const char *
import_str (json_t *obj, const char *key)
{
  const char *s = pg_json_string (obj, key);
  return s && *s ? s : NULL;
}

const char *
import_str_exact (json_t *v)
{
  const char *s;
  if (!json_is_string (v))
    return NULL;
  s = json_string_value (v);
  /* A NUL inside would let "sha256:<hex>\0junk" pass for a clean digest.  */
  return strlen (s) == json_string_length (v) ? s : NULL;
}

bool
import_is_repo_digest (const char *s)
{
  const char *at;
  if (s == NULL)
    return false;
  at = strrchr (s, '@');
  if (at == NULL || at == s || !is_sha256_digest (at + 1))
    return false;
  /* The name part of a reference: registry host (any case, maybe a port)
     and lowercase path components.  Anything else ("REDACTED", a bare
     digest, whitespace) cannot be looked up later anyway.  */
  for (const char *p = s; p < at; p++)
    if (!isalnum ((unsigned char) *p) && strchr ("._-/:", *p) == NULL)
      return false;
  return true;
}

static bool
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char *
import_fixed_versions (const char *const *versions, size_t n)
{
  char *out = NULL;
  size_t len = 0;

  for (size_t i = 0; i < n; i++)
    {
      const char *p = versions[i];
      while (p && *p)
        {
          const char *comma = strchr (p, ',');
          const char *end = comma ? comma : p + strlen (p);
          const char *b = p, *e = end;
          while (b < e && is_space (*b))
            b++;
          while (e > b && is_space (e[-1]))
            e--;
          if (e > b)
            {
              size_t add = (size_t) (e - b);
              out = xrealloc (out, len + add + 3);
              if (len)
                {
                  memcpy (out + len, ", ", 2);
                  len += 2;
                }
              memcpy (out + len, b, add);
              len += add;
              out[len] = '\0';
            }
          p = comma ? comma + 1 : NULL;
        }
    }
  return out;
}

char *
import_os_family (const char *family)
{
  /* Trivy and Grype name some distributions differently; fold both onto the
     names version_scheme_for_distro and the policy's min_versions use.  */
  static const char *const aliases[][2] = {
    { "redhat", "rhel" }, { "rockylinux", "rocky" },   { "almalinux", "alma" }, { "oraclelinux", "oracle" },
    { "ol", "oracle" },   { "amazonlinux", "amazon" }, { "amzn", "amazon" },    { "alpine linux", "alpine" },
  };
  char *s;

  if (family == NULL || *family == '\0')
    return NULL;
  s = xstrdup (family);
  for (char *p = s; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  for (size_t i = 0; i < sizeof (aliases) / sizeof (aliases[0]); i++)
    if (strcmp (s, aliases[i][0]) == 0)
      {
        free (s);
        return xstrdup (aliases[i][1]);
      }
  return s;
}

void
import_seen_init (struct import_seen *seen)
{
  seen->vulns = json_object ();
  seen->pkgs = json_object ();
  if (seen->vulns == NULL || seen->pkgs == NULL)
    abort ();
}

void
import_seen_release (struct import_seen *seen)
{
  json_decref (seen->vulns);
  json_decref (seen->pkgs);
  seen->vulns = seen->pkgs = NULL;
}

/* The parts joined by NUL bytes: C strings cannot hold one, so the key is
   unambiguous.  */
static char *
seen_key (const char *const *parts, size_t n, size_t *len)
{
  size_t total = 0, off = 0;
  char *key;

  for (size_t i = 0; i < n; i++)
    total += strlen (parts[i] ? parts[i] : "") + 1;
  key = xmalloc0 (total);
  for (size_t i = 0; i < n; i++)
    {
      size_t l = strlen (parts[i] ? parts[i] : "");
      memcpy (key + off, parts[i] ? parts[i] : "", l);
      off += l + 1;
    }
  *len = total;
  return key;
}

void
import_add_vuln (struct pg_scan *scan, struct import_seen *seen, const struct pg_vuln *v)
{
  const char *parts[] = { v->id, v->pkg, v->installed };
  size_t len;
  cleanup_free char *key = seen_key (parts, 3, &len);
  json_t *idx = json_object_getn (seen->vulns, key, len);

  if (idx)
    {
      /* Grype reports one finding once per matcher that found it; they may
         disagree on the fix, and the one that knows a fix is the one the
         fixable-vulnerability SLA must see.  */
      struct pg_vuln *old = &scan->vulns[json_integer_value (idx)];
      if (old->fixed == NULL && v->fixed != NULL)
        {
          old->fixed = xstrdup (v->fixed);
          free (old->status);
          old->status = xstrdup (v->status);
        }
      return;
    }
  pg_scan_add_vuln (scan, v);
  if (json_object_setn_new (seen->vulns, key, len, json_integer ((json_int_t) scan->n_vulns - 1)) < 0)
    abort ();
}

void
import_add_package (struct pg_scan *scan, struct import_seen *seen, const char *name, const char *version)
{
  const char *parts[] = { name, version };
  size_t len;
  cleanup_free char *key = seen_key (parts, 2, &len);

  if (json_object_getn (seen->pkgs, key, len))
    return;
  pg_scan_add_package (scan, name, version);
  if (json_object_setn_new (seen->pkgs, key, len, json_true ()) < 0)
    abort ();
}

void
import_strv_add (char ***v, size_t *n, const char *s)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*v)[i], s) == 0)
      return;
  strv_append (v, n, s);
}

/* ------------------------------------------------------------------ */
/* Parsing.  */

static bool
import_json_too_deep (json_t *j, int depth)
{
  const char *key;
  json_t *v;
  size_t i;

  if (depth > PG_MAX_JSON_DEPTH)
    return true;
  if (json_is_object (j))
    json_object_foreach (j, key, v) if (import_json_too_deep (v, depth + 1)) return true;
  if (json_is_array (j))
    json_array_foreach (j, i, v) if (import_json_too_deep (v, depth + 1)) return true;
  return false;
}

int
import_parse_json (const char *buf, size_t len, const char *name, bool stream, json_t **out, size_t *used,
                   pg_error_t *err)
{
  size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | (stream ? JSON_DISABLE_EOF_CHECK : 0);
  json_error_t jerr;
  json_t *j;

  /* json_error_t.position is an int.  */
  if (len > (size_t) INT32_MAX)
    return pg_make_error (err, 0, "%s: larger than %d bytes", name, INT32_MAX);
  /* Bound jansson's memory before it allocates (util.h); a stream is
     counted once, whole, by its reader (foreach_stdin).  */
  if (!stream && pg_json_count_values (buf, len) > PG_MAX_REPORT_JSON_VALUES)
    return pg_make_error (err, 0, "%s: JSON with more than %u values", name, PG_MAX_REPORT_JSON_VALUES);
  j = json_loadb (buf, len, flags, &jerr);
  if (j == NULL)
    return pg_make_error (err, 0, "%s: invalid JSON at line %d column %d: %s", name, jerr.line, jerr.column,
                          jerr.text);
  /* jansson's own nesting limit (2048) bounds this recursion.  */
  if (import_json_too_deep (j, 0))
    {
      json_decref (j);
      return pg_make_error (err, 0, "%s: JSON nested deeper than %d levels", name, PG_MAX_JSON_DEPTH);
    }
  if (used)
    *used = jerr.position >= 0 ? (size_t) jerr.position : len;
  *out = j;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Format detection.  */

enum report_format
{
  FORMAT_UNKNOWN,
  FORMAT_TRIVY,
  FORMAT_TRIVY_LEGACY,
  FORMAT_GRYPE,
  FORMAT_OPENVEX,
};

static enum report_format
detect_format (json_t *doc)
{
  const char *context;

  if (json_is_array (doc))
    {
      /* Trivy before SchemaVersion 2 printed the bare Results array.  */
      json_t *first = json_array_get (doc, 0);
      if (json_is_object (first) && json_object_get (first, "Target")
          && (json_object_get (first, "Vulnerabilities") || json_object_get (first, "Type")))
        return FORMAT_TRIVY_LEGACY;
      return FORMAT_UNKNOWN;
    }
  if (!json_is_object (doc))
    return FORMAT_UNKNOWN;
  if (json_object_get (doc, "matches") && json_object_get (doc, "source")
      && json_is_string (pg_json_path (doc, "descriptor.name"))
      && strcmp (json_string_value (pg_json_path (doc, "descriptor.name")), "grype") == 0)
    return FORMAT_GRYPE;
  if (json_object_get (doc, "SchemaVersion")
      && (json_object_get (doc, "Results") || json_object_get (doc, "ArtifactName")
          || json_object_get (doc, "Metadata")))
    return FORMAT_TRIVY;
  context = pg_json_string (doc, "@context");
  if (context && strstr (context, "openvex"))
    return FORMAT_OPENVEX;
  return FORMAT_UNKNOWN;
}

int
import_parse_report (json_t *doc, const char *source, struct pg_scan *out, pg_error_t *err)
{
  int r;

  switch (detect_format (doc))
    {
    case FORMAT_TRIVY:
      r = import_trivy (doc, out, err);
      break;
    case FORMAT_GRYPE:
      r = import_grype (doc, out, err);
      break;
    case FORMAT_TRIVY_LEGACY:
      return pg_make_error (
          err, 0,
          "%s: legacy pre-SchemaVersion Trivy output (a bare array of results) is unsupported: "
          "it carries no image identity, so it cannot be imported; re-scan with "
          "`trivy image --format json IMAGE`",
          source);
    case FORMAT_OPENVEX:
      return pg_make_error (err, 0, "%s: an OpenVEX document is not a scan report", source);
    default:
      return pg_make_error (err, 0,
                            "%s: unknown report format (expected the JSON of `trivy image --format json` "
                            "or `grype -o json`)",
                            source);
    }
  if (r < 0)
    {
      pg_scan_free (out);
      memset (out, 0, sizeof (*out));
      return pg_error_wrap (err, "%s", source);
    }
  out->source = xstrdup (source);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Reading files, directories and stdin.  */

static int
foreach_file (const char *path, import_report_cb cb, void *data, pg_error_t *err)
{
  cleanup_free char *buf = NULL;
  cleanup_json json_t *doc = NULL;
  size_t len = 0;

  if (read_all_file (path, PG_MAX_REPORT_SIZE, &buf, &len, err) < 0)
    return -1;
  if (import_parse_json (buf, len, path, false, &doc, NULL, err) < 0)
    return -1;
  return cb (doc, path, data, err);
}

static int
foreach_stdin (import_report_cb cb, void *data, pg_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0, off = 0, index = 0;

  if (read_all_fd (STDIN_FILENO, "stdin", PG_MAX_REPORT_SIZE, &buf, &len, err) < 0)
    return -1;
  if (pg_json_count_values (buf, len) > PG_MAX_REPORT_JSON_VALUES)
    return pg_make_error (err, 0, "stdin: JSON with more than %u values", PG_MAX_REPORT_JSON_VALUES);
  for (;;)
    {
      cleanup_json json_t *doc = NULL;
      char source[64], where[96];
      size_t used = 0;

      while (off < len && is_space (buf[off]))
        off++;
      if (off == len)
        break;
      index++;
      snprintf (source, sizeof (source), "stdin report %zu", index);
      snprintf (where, sizeof (where), "%s (from byte %zu)", source, off);
      if (import_parse_json (buf + off, len - off, where, true, &doc, &used, err) < 0)
        return -1;
      if (used == 0)
        return pg_make_error (err, 0, "%s: no progress parsing JSON", where);
      off += used;
      if (cb (doc, source, data, err) < 0)
        return -1;
    }
  if (index == 0)
    return pg_make_error (err, 0, "stdin: no report (empty input)");
  return 0;
}

static bool
has_json_suffix (const char *name)
{
  size_t l = strlen (name);
  return l > 5 && strcmp (name + l - 5, ".json") == 0;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
cleanup_dirp (DIR **d)
{
  if (*d)
    closedir (*d);
}

static int
foreach_dir (const char *path, import_report_cb cb, void *data, pg_error_t *err)
{
  __attribute__ ((cleanup (cleanup_dirp))) DIR *dir = opendir (path);
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;
  int r = 0;

  if (dir == NULL)
    return pg_make_error (err, errno, "%s: open directory", path);
  for (errno = 0; (de = readdir (dir)) != NULL; errno = 0)
    {
      struct stat st;
      /* Hidden files are editor and tool droppings, not reports.  */
      if (de->d_name[0] == '.' || !has_json_suffix (de->d_name))
        continue;
      if (fstatat (dirfd (dir), de->d_name, &st, 0) < 0 || !S_ISREG (st.st_mode))
        continue;
      if (n >= IMPORT_MAX_DIR_ENTRIES)
        {
          strv_free (names, n);
          return pg_make_error (err, 0, "%s: more than %d reports in one directory", path,
                                IMPORT_MAX_DIR_ENTRIES);
        }
      strv_append (&names, &n, de->d_name);
    }
  if (errno != 0)
    {
      r = pg_make_error (err, errno, "%s: read directory", path);
      strv_free (names, n);
      return r;
    }
  if (n == 0)
    return pg_make_error (err, 0, "%s: no *.json report in this directory", path);
  qsort (names, n, sizeof (*names), compare_names);
  for (size_t i = 0; i < n && r == 0; i++)
    {
      cleanup_free char *file = NULL;
      size_t l = strlen (path);
      xasprintf (&file, "%s%s%s", path, l && path[l - 1] == '/' ? "" : "/", names[i]);
      r = foreach_file (file, cb, data, err);
    }
  strv_free (names, n);
  return r;
}

int
import_foreach_report (char **paths, size_t n, import_report_cb cb, void *data, pg_error_t *err)
{
  if (n == 0)
    return pg_make_error (err, 0, "no report to import");
  for (size_t i = 0; i < n; i++)
    {
      struct stat st;
      int r;

      if (strcmp (paths[i], "-") == 0)
        r = foreach_stdin (cb, data, err);
      else if (stat (paths[i], &st) < 0)
        r = pg_make_error (err, errno, "%s", paths[i]);
      else if (S_ISDIR (st.st_mode))
        r = foreach_dir (paths[i], cb, data, err);
      else
        r = foreach_file (paths[i], cb, data, err);
      if (r < 0)
        return r;
    }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Into the store.  */

struct import_ctx
{
  pg_store *store;
  int64_t now;
  struct import_stats stats;
};

static int
import_one_vex (struct import_ctx *ctx, json_t *doc, const char *source, pg_error_t *err)
{
  struct pg_vex *vex = NULL;
  size_t n = 0;
  int ret = 0;

  if (import_openvex (doc, source, &vex, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n && ret == 0; i++)
    if (store_add_vex (ctx->store, &vex[i], source, err) < 0)
      ret = pg_error_wrap (err, "%s", source);
  if (ret == 0)
    {
      ctx->stats.reports++;
      ctx->stats.vex += n;
    }
  pg_vex_free (vex, n);
  return ret;
}

static int
import_one (json_t *doc, const char *source, void *data, pg_error_t *err)
{
  struct import_ctx *ctx = data;
  struct pg_scan scan = { 0 };
  int r;

  if (import_is_openvex (doc))
    return import_one_vex (ctx, doc, source, err);
  if (import_parse_report (doc, source, &scan, err) < 0)
    return -1;
  r = store_add_scan (ctx->store, &scan, ctx->now, err);
  if (r < 0)
    pg_error_wrap (err, "%s", source);
  else
    {
      ctx->stats.reports++;
      if (r > 0)
        {
          ctx->stats.scans_added++;
          ctx->stats.vulns += scan.n_vulns;
        }
      else
        ctx->stats.scans_present++;
    }
  pg_scan_free (&scan);
  return r < 0 ? -1 : 0;
}

int
import_paths (pg_store *store, char **paths, size_t n, int64_t now, struct import_stats *stats,
              pg_error_t *err)
{
  struct import_ctx ctx = { .store = store, .now = now };

  if (n == 0)
    return pg_make_error (err, 0, "no report to import");
  if (store_begin (store, true, err) < 0)
    return -1;
  /* All or nothing: one bad report in a batch must not leave the others
     half-recorded, or the admin cannot tell what to re-run.  */
  if (import_foreach_report (paths, n, import_one, &ctx, err) < 0)
    {
      store_rollback (store);
      return -1;
    }
  if (store_commit (store, err) < 0)
    {
      store_rollback (store);
      return -1;
    }
  if (stats)
    *stats = ctx.stats;
  return 0;
}
