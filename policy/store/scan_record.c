/* patchgate: the record a scan would make, without recording it
 * (store_record_from_scan): what `patchgate check --report` judges, so that
 * a build pipeline sees the reasons production will give once the report
 * is imported.  Every merge here is the one write.c's SQL makes on import,
 * and the record is shaped as read.c loads it.
 */
#include "store/read.h"
#include "store/connection.h"

#include <string.h>

/* The digests of SCAN that the store knows: the image's row (0: none).  */
static int
find_stored_image (pg_store *store, const struct pg_scan *scan, int64_t *image, pg_error_t *err)
{
  struct pg_scan_digest refs[64];
  size_t n = pg_scan_digests (scan, refs, 64);
  const char *source = scan->source ? scan->source : "report";

  *image = 0;
  if (n == 0)
    return pg_make_error (err, 0, "%s: the report names no image digest", source);
  for (size_t i = 0; i < n; i++)
    {
      int64_t row;
      int r = store_find_image_rowid (store, refs[i].digest, &row, err);
      if (r < 0)
        return -1;
      if (r == 0)
        continue;
      if (*image == 0)
        *image = row;
      else if (row != *image)
        return pg_make_error (err, 0, "%s: digest %s already belongs to another image record", source,
                              refs[i].digest);
    }
  return 0;
}

static int64_t
min_time (int64_t a, int64_t b)
{
  return a < b ? a : b;
}

/* The images row, as upsert_image leaves it.  */
static int
merge_identity (pg_store *store, const struct pg_scan *scan, int64_t image, int64_t now,
                struct pg_image_record *rec, pg_error_t *err)
{
  int64_t seen = min_time (scan->scanned_at, now);

  if (image == 0)
    {
      rec->image_id = xstrdup (scan->image_id);
      rec->created = scan->created;
      rec->first_seen = seen;
      for (size_t i = 0; i < scan->n_diff_ids; i++)
        strv_append (&rec->diff_ids, &rec->n_diff_ids, scan->diff_ids[i]);
      return 0;
    }
  /* A stored image keeps its DiffIDs; the rest is filled in or widened. */
  if (store_load_identity (store, image, rec, err) < 0)
    return -1;
  if (rec->image_id == NULL)
    rec->image_id = xstrdup (scan->image_id);
  if (scan->created > rec->created)
    rec->created = scan->created;
  rec->first_seen = min_time (rec->first_seen, seen);
  return 0;
}

/* The manifest digest read.c's load_names finds: the first of the image's
   manifest digests in the digests index's order (the digest's).  */
static int
merge_manifest (pg_store *store, const struct pg_scan *scan, int64_t image, struct pg_image_record *rec,
                pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;

  if (image)
    {
      if (store_prepare (store, "SELECT digest FROM digests WHERE image = ? AND kind = 'manifest'", &st, err)
          < 0)
        return -1;
      sqlite3_bind_int64 (st, 1, image);
      if (sqlite3_step (st) == SQLITE_ROW)
        rec->manifest_digest = store_column_strdup (st, 0);
    }
  if (scan->manifest_digest
      && (rec->manifest_digest == NULL || strcmp (scan->manifest_digest, rec->manifest_digest) < 0))
    {
      free (rec->manifest_digest);
      rec->manifest_digest = xstrdup (scan->manifest_digest);
    }
  return 0;
}

struct name_row
{
  char *repository;
  char *tag; /* "" for a repo digest's name */
  int64_t first_seen;
};

struct name_rows
{
  struct name_row *v;
  size_t n;
};

static void
name_rows_free (struct name_rows *rows)
{
  for (size_t i = 0; i < rows->n; i++)
    {
      free (rows->v[i].repository);
      free (rows->v[i].tag);
    }
  free (rows->v);
}

/* As the names table's ON CONFLICT does: the earlier time.  */
static void
name_rows_add (struct name_rows *rows, const char *repo, const char *tag, int64_t seen)
{
  for (size_t i = 0; i < rows->n; i++)
    if (strcmp (rows->v[i].repository, repo) == 0 && strcmp (rows->v[i].tag, tag) == 0)
      {
        rows->v[i].first_seen = min_time (rows->v[i].first_seen, seen);
        return;
      }
  rows->v = xrealloc (rows->v, (rows->n + 1) * sizeof (*rows->v));
  rows->v[rows->n++] = (struct name_row){ xstrdup (repo), xstrdup (tag), seen };
}

/* As write.c's add_name: a name that does not parse is only lost.  */
static void
name_rows_add_ref (struct name_rows *rows, const char *ref, int64_t seen)
{
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  if (image_ref_parse (ref, &repo, &tag, NULL) == 0)
    name_rows_add (rows, repo, tag ? tag : "", seen);
}

static int
compare_name_rows (const void *a, const void *b)
{
  const struct name_row *x = a, *y = b;
  int c = strcmp (x->repository, y->repository);
  return c ? c : strcmp (x->tag, y->tag);
}

/* The names rows the import would leave, in load_names's order
   (repository, tag), onto REC.  */
static int
merge_names (pg_store *store, const struct pg_scan *scan, int64_t image, struct pg_image_record *rec,
             pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  struct name_rows rows = { 0 };
  int r = SQLITE_DONE;

  if (image)
    {
      if (store_prepare (store, "SELECT repository, tag, first_seen FROM names WHERE image = ?", &st, err)
          < 0)
        return -1;
      sqlite3_bind_int64 (st, 1, image);
      while ((r = sqlite3_step (st)) == SQLITE_ROW)
        name_rows_add (&rows, (const char *) sqlite3_column_text (st, 0),
                       (const char *) sqlite3_column_text (st, 1), sqlite3_column_int64 (st, 2));
      if (r != SQLITE_DONE)
        {
          name_rows_free (&rows);
          return store_sqlite_error (err, store, "reading image names");
        }
    }
  for (size_t i = 0; i < scan->n_repo_tags; i++)
    name_rows_add_ref (&rows, scan->repo_tags[i], scan->scanned_at);
  for (size_t i = 0; i < scan->n_repo_digests; i++)
    name_rows_add_ref (&rows, scan->repo_digests[i], scan->scanned_at);
  if (rows.n > 1)
    qsort (rows.v, rows.n, sizeof (*rows.v), compare_name_rows);
  rec->repo_tag_first_seen = xmalloc0 ((rows.n + 1) * sizeof (*rec->repo_tag_first_seen));
  for (size_t i = 0; i < rows.n; i++)
    {
      const struct name_row *row = &rows.v[i];
      if (rec->n_repositories == 0
          || strcmp (rec->repositories[rec->n_repositories - 1], row->repository) != 0)
        strv_append (&rec->repositories, &rec->n_repositories, row->repository);
      if (*row->tag)
        {
          cleanup_free char *full = NULL;
          xasprintf (&full, "%s:%s", row->repository, row->tag);
          rec->repo_tag_first_seen[rec->n_repo_tags] = row->first_seen;
          strv_append (&rec->repo_tags, &rec->n_repo_tags, full);
        }
    }
  name_rows_free (&rows);
  return 0;
}

/* A fixes row: when a fix was first listed, and the earliest date a report
   gave for it (0: none) with its kind.  */
struct fix_row
{
  bool exists;
  int64_t first_seen;
  int64_t date;
  char *kind;
};

static bool
same_word (const char *a, const char *b)
{
  return strcmp (a ? a : "", b ? b : "") == 0;
}

/* One more finding with a fix, recorded at SEEN: write.c's ON CONFLICT,
   where SQL's NULL is a date of 0 and a comparison with NULL is false.  */
static void
fix_row_add (struct fix_row *f, int64_t seen, const struct pg_vuln *v)
{
  int64_t date = v->fix_date > 0 ? v->fix_date : 0;
  const char *kind = date ? v->fix_date_kind : NULL;
  const char *keep = f->kind;

  if (!f->exists)
    {
      f->exists = true;
      f->first_seen = seen;
      f->date = date;
      f->kind = xstrdup (kind);
      return;
    }
  f->first_seen = min_time (f->first_seen, seen);
  if (date && (f->date == 0 || date < f->date))
    keep = kind;
  else if (date && date == f->date && kind && f->kind && strcmp (kind, f->kind) < 0)
    keep = kind;
  if (keep != f->kind)
    {
      char *copy = xstrdup (keep);
      free (f->kind);
      f->kind = copy;
    }
  if (date && (f->date == 0 || date < f->date))
    f->date = date;
}

static int
load_fix_row (pg_store *store, const char *vuln, const char *pkg, struct fix_row *f, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  memset (f, 0, sizeof (*f));
  if (store_prepare (store,
                     "SELECT first_seen, fix_date, fix_date_kind FROM fixes WHERE vuln_id = ? AND pkg = ?",
                     &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, vuln, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, pkg, -1, SQLITE_STATIC);
  r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      f->exists = true;
      f->first_seen = sqlite3_column_int64 (st, 0);
      f->date = sqlite3_column_int64 (st, 1);
      f->kind = store_column_strdup (st, 2);
      return 0;
    }
  if (r != SQLITE_DONE)
    return store_sqlite_error (err, store, "reading fixes");
  return 0;
}

/* The report's own findings as load_vulns would read them back (their fix
   times are set afterwards, by set_fix_known).  */
static void
add_scan_vulns (const struct pg_scan *scan, struct pg_image_record *rec)
{
  for (size_t i = 0; i < scan->n_vulns; i++)
    {
      const struct pg_vuln *s = &scan->vulns[i];
      struct pg_vuln v = { 0 };

      v.id = xstrdup (s->id ? s->id : "");
      v.pkg = xstrdup (s->pkg ? s->pkg : "");
      v.installed = xstrdup (s->installed);
      v.fixed = xstrdup (s->fixed);
      v.severity = s->severity;
      v.status = xstrdup (s->status);
      v.remedy = xstrdup (s->remedy);
      store_add_loaded_vuln (rec, &v);
    }
}

/* When each fix became known, from its fixes row as the import leaves it:
   the stored row with every entry of the report for the same
   (vulnerability, package) folded in (RECORDED: the store has this very
   scan already, and the import adds none of it).  */
static int
set_fix_known (pg_store *store, const struct pg_scan *scan, bool recorded, struct pg_image_record *rec,
               pg_error_t *err)
{
  for (size_t i = 0; i < rec->n_vulns; i++)
    {
      struct pg_vuln *v = &rec->vulns[i];
      struct fix_row f;

      free (v->fix_known_source);
      v->fix_known_source = NULL;
      v->fix_known_since = 0;
      if (v->fixed == NULL)
        continue;
      if (load_fix_row (store, v->id, v->pkg, &f, err) < 0)
        return -1;
      for (size_t j = 0; !recorded && j < scan->n_vulns; j++)
        if (scan->vulns[j].fixed && same_word (scan->vulns[j].id, v->id)
            && same_word (scan->vulns[j].pkg, v->pkg))
          fix_row_add (&f, scan->scanned_at, &scan->vulns[j]);
      store_fix_known (v, f.first_seen, f.date, f.kind);
      free (f.kind);
    }
  return 0;
}

static void
add_scan_packages (pg_store *store, const struct pg_scan *scan, struct pg_image_record *rec)
{
  for (size_t i = 0; i < scan->n_packages; i++)
    {
      struct pg_package *p;
      if (!store_package_wanted (store, scan->packages[i].name))
        continue;
      rec->packages = xrealloc (rec->packages, (rec->n_packages + 1) * sizeof (*rec->packages));
      p = &rec->packages[rec->n_packages++];
      p->name = xstrdup (scan->packages[i].name);
      p->version = xstrdup (scan->packages[i].version);
    }
}

static void
add_scan_findings (pg_store *store, const struct pg_scan *scan, struct pg_image_record *rec)
{
  add_scan_vulns (scan, rec);
  add_scan_packages (store, scan, rec);
}

/* Whether the store has this very scan (image, scanner, time): the import
   then records nothing of it (store_add_scan returns 0) but its names.  */
static int
scan_recorded (pg_store *store, int64_t image, const char *scanner, int64_t at, bool *out, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (store_prepare (store, "SELECT 1 FROM scans WHERE image = ? AND scanner = ? AND scanned_at = ?", &st,
                     err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  sqlite3_bind_text (st, 2, scanner, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, at);
  r = sqlite3_step (st);
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    return store_sqlite_error (err, store, "reading scans");
  *out = r == SQLITE_ROW;
  return 0;
}

static void
take_scan_fields (struct pg_image_record *rec, struct pg_image_record *from)
{
  rec->has_scan = true;
  rec->scanned_at = from->scanned_at;
  rec->scanner = from->scanner;
  rec->os_family = from->os_family;
  rec->os_name = from->os_name;
  rec->eosl = from->eosl;
  from->scanner = from->os_family = from->os_name = NULL;
}

/* The newest scan and the findings load_record would read after the
   import: the report is the newest row of its scanner unless a later scan
   of that scanner is stored (a tie goes to the report, inserted last); the
   other scanners' newest stored scans stay; all in the scanners' order.  */
static int
merge_scans (pg_store *store, const struct pg_scan *scan, int64_t image, struct pg_image_record *rec,
             pg_error_t *err)
{
  const char *scanner = scan->scanner ? scan->scanner : "unknown";
  struct pg_image_record newest;
  struct pg_scan_ref *stored = NULL;
  size_t n = 0;
  bool recorded = false, use_scan, scan_done = false;
  int64_t newest_id;
  int have_newest = 0, ret = -1;

  memset (&newest, 0, sizeof (newest));
  if (image
      && (scan_recorded (store, image, scanner, scan->scanned_at, &recorded, err) < 0
          || store_newest_scans (store, image, &stored, &n, err) < 0
          || (have_newest = store_load_newest_scan (store, image, &newest, &newest_id, err)) < 0))
    goto out;
  if (!recorded && (have_newest == 0 || scan->scanned_at >= newest.scanned_at))
    {
      struct pg_image_record mine = { .scanned_at = scan->scanned_at,
                                      .scanner = xstrdup (scanner),
                                      .os_family = xstrdup (scan->os_family),
                                      .os_name = xstrdup (scan->os_name),
                                      .eosl = scan->eosl };
      take_scan_fields (rec, &mine);
    }
  else
    take_scan_fields (rec, &newest);

  use_scan = !recorded;
  for (size_t i = 0; i < n; i++)
    if (use_scan && strcmp (stored[i].scanner, scanner) == 0 && scan->scanned_at < stored[i].scanned_at)
      use_scan = false;
  for (size_t i = 0; i < n; i++)
    {
      int c = strcmp (scanner, stored[i].scanner);
      if (use_scan && !scan_done && c <= 0)
        {
          add_scan_findings (store, scan, rec);
          scan_done = true;
        }
      if (use_scan && c == 0)
        continue; /* the report is that scanner's newest now */
      if (store_load_scan_findings (store, stored[i].id, rec, err) < 0)
        goto out;
    }
  if (use_scan && !scan_done)
    add_scan_findings (store, scan, rec);
  ret = set_fix_known (store, scan, recorded, rec, err);
out:
  pg_scan_refs_free (stored, n);
  pg_image_record_free (&newest);
  return ret;
}

/* load_vex's statements, over the digests the image would have: the stored
   ones and the scan's.  */
static int
merge_vex (pg_store *store, const struct pg_scan *scan, int64_t image, struct pg_image_record *rec,
           pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *dg = NULL;
  cleanup_stmt sqlite3_stmt *st = NULL;
  cleanup_json json_t *digests = json_array ();
  cleanup_free char *text = NULL;
  struct pg_scan_digest refs[64];
  size_t n = pg_scan_digests (scan, refs, 64);
  int r;

  for (size_t i = 0; i < n; i++)
    json_array_append_new (digests, json_string (refs[i].digest));
  if (image)
    {
      if (store_prepare (store, "SELECT digest FROM digests WHERE image = ?", &dg, err) < 0)
        return -1;
      sqlite3_bind_int64 (dg, 1, image);
      while ((r = sqlite3_step (dg)) == SQLITE_ROW)
        json_array_append_new (digests, json_string ((const char *) sqlite3_column_text (dg, 0)));
      if (r != SQLITE_DONE)
        return store_sqlite_error (err, store, "reading digests");
    }
  /* The identities the image would have: revocation and waivers name any.  */
  for (size_t i = 0; i < json_array_size (digests); i++)
    {
      const char *d = json_string_value (json_array_get (digests, i));
      bool seen = false;
      for (size_t j = 0; j < rec->n_digests && !seen; j++)
        seen = strcmp (rec->digests[j], d) == 0;
      if (!seen)
        strv_append (&rec->digests, &rec->n_digests, d);
    }
  text = json_dumps (digests, JSON_COMPACT);
  /* load_vex's query, over those digests and the image's repositories.  */
  if (store_prepare (
          store,
          "SELECT vuln_id, aliases, status, justification, issued, digest, repository, tag, subcomponents, "
          "source, document, statement FROM vex_statements "
          "WHERE digest IN (SELECT value FROM json_each (?1)) "
          "OR (repository != '' AND repository IN (SELECT repository FROM names WHERE image = ?2)) "
          "ORDER BY issued, id",
          &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, text, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, image);
  return store_load_vex_rows (store, st, rec, err);
}

int
store_record_from_scan (pg_store *store, const struct pg_scan *scan, int64_t now, struct pg_image_record *rec,
                        pg_error_t *err)
{
  int64_t image;

  memset (rec, 0, sizeof (*rec));
  if (find_stored_image (store, scan, &image, err) < 0)
    return -1;
  rec->rowid = image;
  if (merge_identity (store, scan, image, now, rec, err) < 0
      || merge_manifest (store, scan, image, rec, err) < 0 || merge_names (store, scan, image, rec, err) < 0)
    goto fail;
  if (merge_scans (store, scan, image, rec, err) < 0 || merge_vex (store, scan, image, rec, err) < 0)
    goto fail;
  return 0;
fail:
  pg_image_record_free (rec);
  return -1;
}
