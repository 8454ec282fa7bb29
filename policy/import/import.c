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
/* Reading files, directories and stdin.

   First a plan: the reports in the order they will be read (the paths as
   given; every directory walked depth first, each level in name order),
   so that progress knows the total and every run of the same tree reads
   the same order.  Then the reports are read one by one.  */

/* Subfolders below a directory argument, at most.  */
#define IMPORT_MAX_DEPTH 32

enum item_kind
{
  ITEM_FILE,    /* a file named on the command line: PATH */
  ITEM_BENEATH, /* a file found in a directory: REL below roots[ROOT] */
  ITEM_STDIN,
  ITEM_FAILED, /* found unreadable while planning: ERROR */
};

struct plan_item
{
  enum item_kind kind;
  char *path; /* as shown in messages: the argument, or DIR/sub/file.json */
  char *rel;
  size_t root;
  char *error; /* the whole message, naming PATH */
};

struct plan
{
  struct plan_item *items;
  size_t n;
  int *roots; /* directory arguments, opened once */
  size_t n_roots;
  size_t files; /* items that are one report each (all but stdin) */
  bool has_stdin;
  struct import_problem *skipped;
  size_t n_skipped;
};

static void
problems_add (struct import_problem **v, size_t *n, const char *source, const char *reason)
{
  *v = xrealloc (*v, (*n + 1) * sizeof (**v));
  (*v)[*n].source = xstrdup (source);
  (*v)[*n].reason = xstrdup (reason);
  (*n)++;
}

static void
problems_free (struct import_problem *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (v[i].source);
      free (v[i].reason);
    }
  free (v);
}

static void
plan_add (struct plan *p, enum item_kind kind, const char *path, const char *rel, size_t root,
          const char *error)
{
  struct plan_item *it;
  p->items = xrealloc (p->items, (p->n + 1) * sizeof (*p->items));
  it = &p->items[p->n++];
  it->kind = kind;
  it->path = xstrdup (path);
  it->rel = xstrdup (rel);
  it->root = root;
  it->error = xstrdup (error);
  if (kind == ITEM_STDIN)
    p->has_stdin = true;
  else
    p->files++;
}

static void
plan_free (struct plan *p)
{
  for (size_t i = 0; i < p->n; i++)
    {
      free (p->items[i].path);
      free (p->items[i].rel);
      free (p->items[i].error);
    }
  free (p->items);
  for (size_t i = 0; i < p->n_roots; i++)
    close (p->roots[i]);
  free (p->roots);
  problems_free (p->skipped, p->n_skipped);
  memset (p, 0, sizeof (*p));
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

/* The names in the directory FD (borrowed), hidden ones left out (editor
   and tool droppings, .git), sorted bytewise.  */
static int
sorted_names (int fd, const char *path, char ***names, size_t *n, pg_error_t *err)
{
  int dup_fd = fcntl (fd, F_DUPFD_CLOEXEC, 0);
  __attribute__ ((cleanup (cleanup_dirp))) DIR *dir = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
  struct dirent *de;

  if (dir == NULL)
    {
      int e = errno;
      if (dup_fd >= 0)
        close (dup_fd);
      return pg_make_error (err, e, "%s: open directory", path);
    }
  for (errno = 0; (de = readdir (dir)) != NULL; errno = 0)
    {
      if (de->d_name[0] == '.')
        continue;
      if (*n >= IMPORT_MAX_DIR_ENTRIES)
        return pg_make_error (err, 0, "%s: more than %d entries in one directory", path,
                              IMPORT_MAX_DIR_ENTRIES);
      strv_append (names, n, de->d_name);
    }
  if (errno != 0)
    return pg_make_error (err, errno, "%s: read directory", path);
  qsort (*names, *n, sizeof (**names), compare_names);
  return 0;
}

/* Walk the directory FD (PATH in messages, REL below the root), adding
   every *.json regular file to P.  Symlinks are never followed, wherever
   they point: a link could lead a nightly import of a shared folder
   anywhere on the host, and one that points inside is imported from where
   it points to anyway.  They are reported as skipped, as are *.json names
   that are not regular files.  */
static int
walk_dir (struct plan *p, size_t root, int fd, const char *path, const char *rel, int depth, pg_error_t *err)
{
  char **names = NULL;
  size_t n = 0;
  int ret = 0;

  if (sorted_names (fd, path, &names, &n, err) < 0)
    {
      strv_free (names, n);
      return -1;
    }
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      cleanup_free char *sub_path = NULL;
      cleanup_free char *sub_rel = NULL;
      struct stat st;

      xasprintf (&sub_path, "%s/%s", path, names[i]);
      xasprintf (&sub_rel, "%s%s%s", rel, *rel ? "/" : "", names[i]);
      if (fstatat (fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          cleanup_free char *msg = NULL;
          xasprintf (&msg, "%s: stat: %s", sub_path, strerror (errno));
          plan_add (p, ITEM_FAILED, sub_path, NULL, root, msg);
        }
      else if (S_ISLNK (st.st_mode))
        problems_add (&p->skipped, &p->n_skipped, sub_path, "a symlink: not followed");
      else if (S_ISDIR (st.st_mode))
        {
          cleanup_close int sub = -1;
          if (depth >= IMPORT_MAX_DEPTH)
            {
              cleanup_free char *msg = NULL;
              xasprintf (&msg, "%s: more than %d folders deep: not read", sub_path, IMPORT_MAX_DEPTH);
              plan_add (p, ITEM_FAILED, sub_path, NULL, root, msg);
              continue;
            }
          sub = openat (fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            {
              cleanup_free char *msg = NULL;
              xasprintf (&msg, "%s: open directory: %s", sub_path, strerror (errno));
              plan_add (p, ITEM_FAILED, sub_path, NULL, root, msg);
              continue;
            }
          ret = walk_dir (p, root, sub, sub_path, sub_rel, depth + 1, err);
        }
      else if (!has_json_suffix (names[i]))
        continue;
      else if (!S_ISREG (st.st_mode))
        problems_add (&p->skipped, &p->n_skipped, sub_path, "not a regular file");
      else if (p->files >= IMPORT_MAX_DIR_ENTRIES)
        ret = pg_make_error (err, 0, "%s: more than %d reports", path, IMPORT_MAX_DIR_ENTRIES);
      else
        plan_add (p, ITEM_BENEATH, sub_path, sub_rel, root, NULL);
    }
  strv_free (names, n);
  return ret;
}

static int
plan_dir (struct plan *p, const char *arg, bool keep_going, pg_error_t *err)
{
  cleanup_free char *path = xstrdup (arg);
  size_t before = p->files, l = strlen (path);
  int fd;

  /* "reports/" and "reports" name the same files in messages.  */
  while (l > 1 && path[l - 1] == '/')
    path[--l] = '\0';
  /* The directory named on the command line is the admin's choice, link or
     not; below it nothing is followed.  */
  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return pg_make_error (err, errno, "%s: open directory", path);
  p->roots = xrealloc (p->roots, (p->n_roots + 1) * sizeof (*p->roots));
  p->roots[p->n_roots++] = fd;
  if (walk_dir (p, p->n_roots - 1, fd, path, "", 0, err) < 0)
    return -1;
  if (p->files == before && !keep_going)
    return pg_make_error (err, 0, "%s: no *.json report in this directory or below", path);
  if (p->files == before)
    {
      cleanup_free char *msg = NULL;
      xasprintf (&msg, "%s: no *.json report in this directory or below", path);
      plan_add (p, ITEM_FAILED, path, NULL, 0, msg);
    }
  return 0;
}

static int
make_plan (char **paths, size_t n, bool keep_going, struct plan *p, pg_error_t *err)
{
  if (n == 0)
    return pg_make_error (err, 0, "no report to import");
  for (size_t i = 0; i < n; i++)
    {
      struct stat st;
      cleanup_error pg_error_t e = NULL;

      if (strcmp (paths[i], "-") == 0)
        {
          plan_add (p, ITEM_STDIN, "stdin", NULL, 0, NULL);
          continue;
        }
      if (stat (paths[i], &st) < 0)
        pg_make_error (&e, errno, "%s", paths[i]);
      else if (!S_ISDIR (st.st_mode))
        {
          plan_add (p, ITEM_FILE, paths[i], NULL, 0, NULL);
          continue;
        }
      else if (plan_dir (p, paths[i], keep_going, &e) == 0)
        continue;
      if (!keep_going)
        {
          *err = e;
          e = NULL;
          return -1;
        }
      plan_add (p, ITEM_FAILED, paths[i], NULL, 0, e->msg);
    }
  return 0;
}

/* Open REL below ROOT one component at a time, refusing symlinks at every
   step: the tree may have changed since it was walked.  */
static int
open_beneath (int root, const char *rel, const char *path, pg_error_t *err)
{
  cleanup_free char *copy = xstrdup (rel);
  char *save = NULL, *comp = strtok_r (copy, "/", &save);
  int fd = root;

  while (comp)
    {
      char *next = strtok_r (NULL, "/", &save);
      int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (next ? O_DIRECTORY : O_NONBLOCK);
      int sub = openat (fd, comp, flags);
      int e = errno;
      struct stat st;

      if (fd != root)
        close (fd);
      if (sub < 0)
        return pg_make_error (err, e == ELOOP ? 0 : e,
                              e == ELOOP ? "%s: a symlink: not followed" : "%s: open", path);
      fd = sub;
      if (next == NULL && (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)))
        {
          close (fd);
          return pg_make_error (err, 0, "%s: not a regular file", path);
        }
      comp = next;
    }
  return fd;
}

static int
read_item (const struct plan *p, const struct plan_item *it, json_t **doc, pg_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0;

  if (it->kind == ITEM_BENEATH)
    {
      cleanup_close int fd = open_beneath (p->roots[it->root], it->rel, it->path, err);
      if (fd < 0 || read_all_fd (fd, it->path, PG_MAX_REPORT_SIZE, &buf, &len, err) < 0)
        return -1;
    }
  else if (read_all_file (it->path, PG_MAX_REPORT_SIZE, &buf, &len, err) < 0)
    return -1;
  return import_parse_json (buf, len, it->path, false, doc, NULL, err);
}

/* Concatenated reports on stdin, one at a time.  */
struct stdin_stream
{
  char *buf;
  size_t len;
  size_t off;
  size_t index;
};

static int
stdin_open (struct stdin_stream *s, pg_error_t *err)
{
  memset (s, 0, sizeof (*s));
  if (read_all_fd (STDIN_FILENO, "stdin", PG_MAX_REPORT_SIZE, &s->buf, &s->len, err) < 0)
    return -1;
  if (pg_json_count_values (s->buf, s->len) > PG_MAX_REPORT_JSON_VALUES)
    return pg_make_error (err, 0, "stdin: JSON with more than %u values", PG_MAX_REPORT_JSON_VALUES);
  return 0;
}

/* 1 and *DOC, 0 at the end, -1 on an error (after which the rest of the
   stream cannot be told apart: it is abandoned).  */
static int
stdin_next (struct stdin_stream *s, json_t **doc, char *source, size_t source_size, pg_error_t *err)
{
  char where[96];
  size_t used = 0;

  while (s->off < s->len && pg_json_is_space (s->buf[s->off]))
    s->off++;
  if (s->off == s->len)
    {
      if (s->index == 0)
        return pg_make_error (err, 0, "stdin: no report (empty input)");
      return 0;
    }
  s->index++;
  snprintf (source, source_size, "stdin report %zu", s->index);
  snprintf (where, sizeof (where), "%s (from byte %zu)", source, s->off);
  if (import_parse_json (s->buf + s->off, s->len - s->off, where, true, doc, &used, err) < 0)
    return -1;
  if (used == 0)
    return pg_make_error (err, 0, "%s: no progress parsing JSON", where);
  s->off += used;
  return 1;
}

/* What a walk does with each report and each failure.  ON_FAIL returns 0
   to go on (keep going) or -1 to stop with ERR.  */
struct walk_ops
{
  int (*on_report) (json_t *doc, const char *source, void *data, pg_error_t *err);
  int (*on_fail) (const char *source, pg_error_t *err, void *data);
  void *data;
};

static int
walk_plan (const struct plan *p, const struct walk_ops *ops, pg_error_t *err)
{
  for (size_t i = 0; i < p->n; i++)
    {
      const struct plan_item *it = &p->items[i];
      cleanup_error pg_error_t e = NULL;

      if (it->kind == ITEM_FAILED)
        {
          pg_make_error (&e, 0, "%s", it->error);
          if (ops->on_fail (it->path, &e, ops->data) < 0)
            goto stop;
        }
      else if (it->kind == ITEM_STDIN)
        {
          struct stdin_stream s;
          char source[64] = "stdin";
          int r = stdin_open (&s, &e);
          while (r == 0 || r == 1)
            {
              cleanup_json json_t *doc = NULL;
              r = stdin_next (&s, &doc, source, sizeof (source), &e);
              if (r != 1)
                break;
              if (ops->on_report (doc, source, ops->data, &e) < 0 && ops->on_fail (source, &e, ops->data) < 0)
                {
                  free (s.buf);
                  goto stop;
                }
            }
          free (s.buf);
          if (r < 0 && ops->on_fail (source, &e, ops->data) < 0)
            goto stop;
        }
      else
        {
          cleanup_json json_t *doc = NULL;
          if ((read_item (p, it, &doc, &e) < 0 || ops->on_report (doc, it->path, ops->data, &e) < 0)
              && ops->on_fail (it->path, &e, ops->data) < 0)
            goto stop;
        }
      continue;
    stop:
      *err = e;
      e = NULL;
      return -1;
    }
  return 0;
}

static int
fail_stop (const char *source, pg_error_t *err, void *data)
{
  return -1;
}

int
import_foreach_report (char **paths, size_t n, import_report_cb cb, void *data, pg_error_t *err)
{
  struct plan p = { 0 };
  struct walk_ops ops = { cb, fail_stop, data };
  int r = make_plan (paths, n, false, &p, err);

  if (r == 0)
    r = walk_plan (&p, &ops, err);
  plan_free (&p);
  return r;
}

/* ------------------------------------------------------------------ */
/* Into the store.  */

struct import_ctx
{
  pg_store *store;
  int64_t now;
  const struct import_opts *opts;
  struct import_result *res;
  json_t *images;       /* image rows seen, for the count */
  json_t *vex_products; /* products VEX statements named, for the count */
  size_t done, total;
  bool total_known;
};

static void
progress (struct import_ctx *ctx, const char *source)
{
  struct import_progress pr;

  ctx->done++;
  if (ctx->opts == NULL || ctx->opts->progress == NULL)
    return;
  pr.done = ctx->done;
  pr.total = ctx->total_known ? ctx->total : 0;
  pr.failed = ctx->res->n_failures;
  pr.source = source;
  ctx->opts->progress (&pr, ctx->opts->progress_data);
}

/* A product's key, for counting the images a run's statements name.  */
static void
count_vex_product (struct import_ctx *ctx, const struct pg_vex *v)
{
  cleanup_free char *key = NULL;
  xasprintf (&key, "%s|%s|%s", v->digest ? v->digest : "", v->repository ? v->repository : "",
             v->tag ? v->tag : "");
  if (json_object_get (ctx->vex_products, key) == NULL)
    {
      json_object_set_new (ctx->vex_products, key, json_true ());
      ctx->res->stats.vex_images++;
    }
}

static int
import_one_vex (struct import_ctx *ctx, json_t *doc, const char *source, pg_error_t *err)
{
  struct import_vex vex;
  int ret = 0;

  if (import_openvex (doc, source, &vex, err) < 0)
    return -1;
  for (size_t i = 0; i < vex.n_records && ret == 0; i++)
    if (store_add_vex (ctx->store, &vex.records[i], err) < 0)
      ret = pg_error_wrap (err, "%s", source);
  if (ret == 0)
    {
      ctx->res->stats.reports++;
      ctx->res->stats.vex += vex.statements;
      ctx->res->stats.vex_skipped += vex.skipped_no_product;
      for (size_t i = 0; i < vex.n_records; i++)
        count_vex_product (ctx, &vex.records[i]);
    }
  import_vex_clear (&vex);
  return ret;
}

static void
count_image (struct import_ctx *ctx, int64_t image)
{
  char key[32];
  snprintf (key, sizeof (key), "%lld", (long long) image);
  if (json_object_get (ctx->images, key) == NULL)
    {
      json_object_set_new (ctx->images, key, json_true ());
      ctx->res->stats.images++;
    }
}

static int
import_one (json_t *doc, const char *source, struct import_ctx *ctx, pg_error_t *err)
{
  struct pg_scan scan = { 0 };
  int64_t image = 0;
  int r;

  if (import_is_openvex (doc))
    return import_one_vex (ctx, doc, source, err);
  if (import_parse_report (doc, source, &scan, err) < 0)
    return -1;
  r = store_add_scan_image (ctx->store, &scan, ctx->now, &image, err);
  if (r < 0)
    pg_error_wrap (err, "%s", source);
  else
    {
      ctx->res->stats.reports++;
      count_image (ctx, image);
      if (r > 0)
        {
          ctx->res->stats.scans_added++;
          ctx->res->stats.vulns += scan.n_vulns;
        }
      else
        ctx->res->stats.scans_present++;
    }
  pg_scan_free (&scan);
  return r < 0 ? -1 : 0;
}

/* One transaction for the run: a report is one more step in it.  */
static int
on_report_batch (json_t *doc, const char *source, void *data, pg_error_t *err)
{
  struct import_ctx *ctx = data;
  int r = import_one (doc, source, ctx, err);
  if (r == 0)
    progress (ctx, source);
  return r;
}

/* --keep-going: each report in a transaction of its own.  The image count
   is kept apart until the commit, so that a rolled-back report counts
   nothing.  */
static int
on_report_alone (json_t *doc, const char *source, void *data, pg_error_t *err)
{
  struct import_ctx *ctx = data;
  struct import_stats before = ctx->res->stats;
  cleanup_json json_t *images = json_deep_copy (ctx->images);
  cleanup_json json_t *vex_products = json_deep_copy (ctx->vex_products);

  if (store_begin (ctx->store, true, err) < 0)
    return -1;
  if (import_one (doc, source, ctx, err) < 0 || store_commit (ctx->store, err) < 0)
    {
      store_rollback (ctx->store);
      ctx->res->stats = before;
      json_decref (ctx->images);
      ctx->images = images;
      images = NULL;
      json_decref (ctx->vex_products);
      ctx->vex_products = vex_products;
      vex_products = NULL;
      return -1;
    }
  progress (ctx, source);
  return 0;
}

static int
on_fail_record (const char *source, pg_error_t *err, void *data)
{
  struct import_ctx *ctx = data;

  if (!ctx->opts || !ctx->opts->keep_going)
    return -1;
  problems_add (&ctx->res->failures, &ctx->res->n_failures, source, (*err)->msg);
  ctx->res->stats.failed++;
  progress (ctx, source);
  pg_error_release (err);
  return 0;
}

void
import_result_free (struct import_result *r)
{
  problems_free (r->failures, r->n_failures);
  problems_free (r->skipped, r->n_skipped);
  memset (r, 0, sizeof (*r));
}

int
import_run (pg_store *store, char **paths, size_t n, int64_t now, const struct import_opts *opts,
            struct import_result *res, pg_error_t *err)
{
  bool keep_going = opts && opts->keep_going;
  struct import_ctx ctx = { .store = store, .now = now, .opts = opts, .res = res };
  struct walk_ops ops = { keep_going ? on_report_alone : on_report_batch, on_fail_record, &ctx };
  struct plan p = { 0 };
  int ret = -1;

  memset (res, 0, sizeof (*res));
  if (make_plan (paths, n, keep_going, &p, err) < 0)
    goto out;
  res->skipped = p.skipped;
  res->n_skipped = p.n_skipped;
  res->stats.skipped = p.n_skipped;
  p.skipped = NULL;
  p.n_skipped = 0;
  ctx.total = p.files;
  ctx.total_known = !p.has_stdin;
  ctx.images = json_object ();
  ctx.vex_products = json_object ();
  if (ctx.images == NULL || ctx.vex_products == NULL)
    abort ();
  /* Without --keep-going, all or nothing: one bad report in a batch must
     not leave the others half-recorded, or the admin cannot tell what to
     re-run.  */
  if (!keep_going && store_begin (store, true, err) < 0)
    goto out;
  if (walk_plan (&p, &ops, err) < 0)
    {
      if (!keep_going)
        store_rollback (store);
      goto out;
    }
  if (!keep_going && store_commit (store, err) < 0)
    {
      store_rollback (store);
      goto out;
    }
  ret = 0;
out:
  if (ret < 0)
    {
      /* Nothing was recorded (or, keeping going, what was is in the
         counts, which an error here makes moot).  */
      struct import_problem *skipped = res->skipped;
      size_t n_skipped = res->n_skipped;
      res->skipped = NULL;
      res->n_skipped = 0;
      import_result_free (res);
      res->skipped = skipped;
      res->n_skipped = n_skipped;
    }
  json_decref (ctx.images);
  json_decref (ctx.vex_products);
  plan_free (&p);
  return ret;
}

int
import_paths (pg_store *store, char **paths, size_t n, int64_t now, struct import_stats *stats,
              pg_error_t *err)
{
  struct import_result res;
  int r = import_run (store, paths, n, now, NULL, &res, err);

  if (r == 0 && stats)
    *stats = res.stats;
  import_result_free (&res);
  return r;
}
