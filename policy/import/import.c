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
/* Parsing.  */

int
import_parse_json (const char *buf, size_t len, const char *name, bool stream, json_t **out, size_t *used,
                   pg_error_t *err)
{
  const struct pg_json_limits lim
      = { PG_MAX_REPORT_JSON_VALUES, JSON_ALLOW_NUL | (stream ? JSON_DISABLE_EOF_CHECK : 0) };
  return pg_json_parse_limited (buf, len, name, &lim, used, out, err);
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

      while (off < len && pg_json_is_space (buf[off]))
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
