/* patchgate: reading the store: an image by any of its digests, with its
 * newest scans' findings; newer builds; the policy; counts.
 */
#include "store/read.h"
#include "store/connection.h"

#include <string.h>

static int
compare_strp (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
store_set_package_filter (pg_store *store, const char *const *names, size_t n)
{
  strv_free (store->package_filter, store->n_package_filter);
  store->package_filter = NULL;
  store->n_package_filter = 0;
  store->has_package_filter = names != NULL;
  for (size_t i = 0; names && i < n; i++)
    strv_append (&store->package_filter, &store->n_package_filter, names[i]);
  if (store->n_package_filter > 1)
    qsort (store->package_filter, store->n_package_filter, sizeof (char *), compare_strp);
}

bool
store_package_wanted (pg_store *store, const char *name)
{
  return !store->has_package_filter
         || (name != NULL && store->n_package_filter > 0
             && bsearch (&name, store->package_filter, store->n_package_filter, sizeof (char *), compare_strp)
                    != NULL);
}

int
store_find_image_rowid (pg_store *store, const char *digest, int64_t *rowid, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;
  if (store_prepare (store, "SELECT image FROM digests WHERE digest = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, digest, -1, SQLITE_STATIC);
  r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      *rowid = sqlite3_column_int64 (st, 0);
      return 1;
    }
  if (r != SQLITE_DONE)
    return store_sqlite_error (err, store, "looking up a digest");
  return 0;
}

char *
store_column_strdup (sqlite3_stmt *st, int i)
{
  const unsigned char *s = sqlite3_column_text (st, i);
  return s ? xstrdup ((const char *) s) : NULL;
}

void
store_split_diff_ids (const char *p, char ***v, size_t *n)
{
  while (p && *p)
    {
      const char *nl = strchr (p, '\n');
      size_t len = nl ? (size_t) (nl - p) : strlen (p);
      char *d = strndup (p, len);
      strv_append (v, n, d);
      free (d);
      p += len + (nl ? 1 : 0);
    }
}

int
store_load_identity (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;

  if (store_prepare (store, "SELECT image_id, created, first_seen, diff_ids FROM images WHERE id = ?", &st,
                     err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  if (sqlite3_step (st) != SQLITE_ROW)
    return store_sqlite_error (err, store, "reading an image");
  rec->rowid = image;
  rec->image_id = store_column_strdup (st, 0);
  rec->created = sqlite3_column_int64 (st, 1);
  rec->first_seen = sqlite3_column_int64 (st, 2);
  store_split_diff_ids ((const char *) sqlite3_column_text (st, 3), &rec->diff_ids, &rec->n_diff_ids);
  return 0;
}

static int
load_names (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  cleanup_stmt sqlite3_stmt *dg = NULL;
  int r;

  if (store_prepare (store, "SELECT repository, tag FROM names WHERE image = ? ORDER BY repository, tag", &st,
                     err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *repo = (const char *) sqlite3_column_text (st, 0);
      const char *tag = (const char *) sqlite3_column_text (st, 1);
      if (rec->n_repositories == 0 || strcmp (rec->repositories[rec->n_repositories - 1], repo) != 0)
        strv_append (&rec->repositories, &rec->n_repositories, repo);
      if (tag && *tag)
        {
          cleanup_free char *full = NULL;
          xasprintf (&full, "%s:%s", repo, tag);
          strv_append (&rec->repo_tags, &rec->n_repo_tags, full);
        }
    }
  if (r != SQLITE_DONE)
    return store_sqlite_error (err, store, "reading image names");
  /* Every identity of the image: a digest the admin revokes or waives
     names the image, whichever of them the engine reports.  */
  if (store_prepare (store, "SELECT digest, kind FROM digests WHERE image = ? ORDER BY digest", &dg, err) < 0)
    return -1;
  sqlite3_bind_int64 (dg, 1, image);
  while ((r = sqlite3_step (dg)) == SQLITE_ROW)
    {
      const char *digest = (const char *) sqlite3_column_text (dg, 0);
      const char *kind = (const char *) sqlite3_column_text (dg, 1);
      if (digest == NULL)
        continue;
      strv_append (&rec->digests, &rec->n_digests, digest);
      if (rec->manifest_digest == NULL && kind && strcmp (kind, "manifest") == 0)
        rec->manifest_digest = xstrdup (digest);
    }
  if (r != SQLITE_DONE)
    return store_sqlite_error (err, store, "reading image digests");
  return 0;
}

int
store_load_newest_scan (pg_store *store, int64_t image, struct pg_image_record *rec, int64_t *scan_id,
                        pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (store_prepare (store,
                     "SELECT id, scanned_at, scanner, os_family, os_name, eosl FROM scans WHERE image = ? "
                     "ORDER BY scanned_at DESC, id DESC LIMIT 1",
                     &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  r = sqlite3_step (st);
  if (r == SQLITE_DONE)
    return 0;
  if (r != SQLITE_ROW)
    return store_sqlite_error (err, store, "reading scans");
  *scan_id = sqlite3_column_int64 (st, 0);
  rec->has_scan = true;
  rec->scanned_at = sqlite3_column_int64 (st, 1);
  rec->scanner = store_column_strdup (st, 2);
  rec->os_family = store_column_strdup (st, 3);
  rec->os_name = store_column_strdup (st, 4);
  rec->eosl = sqlite3_column_int (st, 5) != 0;
  return 1;
}

static struct pg_vuln *
find_loaded (const struct pg_image_record *rec, const struct pg_vuln *v)
{
  for (size_t i = 0; i < rec->n_vulns; i++)
    if (strcmp (rec->vulns[i].id, v->id) == 0 && strcmp (rec->vulns[i].pkg, v->pkg) == 0
        && (v->installed == NULL) == (rec->vulns[i].installed == NULL)
        && (v->installed == NULL || strcmp (v->installed, rec->vulns[i].installed) == 0))
      return &rec->vulns[i];
  return NULL;
}

void
store_add_loaded_vuln (struct pg_image_record *rec, struct pg_vuln *v)
{
  struct pg_vuln *dup = find_loaded (rec, v);
  if (dup)
    {
      pg_vuln_merge (dup, v);
      pg_vuln_clear (v);
      return;
    }
  rec->vulns = xrealloc (rec->vulns, (rec->n_vulns + 1) * sizeof (*rec->vulns));
  rec->vulns[rec->n_vulns++] = *v;
}

void
store_fix_known (struct pg_vuln *v, int64_t first_seen, int64_t date, const char *kind)
{
  if (v->fixed == NULL)
    return;
  if (date > 0 && (first_seen == 0 || date < first_seen))
    {
      v->fix_known_since = date;
      if (kind)
        xasprintf (&v->fix_known_source, "per the scanner's fix date (%s)", kind);
      else
        v->fix_known_source = xstrdup ("per the scanner's fix date");
    }
  else if (first_seen > 0)
    {
      v->fix_known_since = first_seen;
      v->fix_known_source = xstrdup ("when an imported scan first listed it");
    }
}

static int
load_vulns (pg_store *store, int64_t scan_id, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  /* The fix columns mean something only for a finding with a fix, and
     each lookup in fixes is a random page: look up only those (the second
     and third lookups find the page the first one read).  */
  if (store_prepare (store,
                     "SELECT v.vuln_id, v.pkg, v.installed, v.fixed, v.severity, v.status, "
                     "CASE WHEN v.fixed IS NOT NULL THEN (SELECT f.first_seen FROM fixes f "
                     "WHERE f.vuln_id = v.vuln_id AND f.pkg = v.pkg) END, "
                     "CASE WHEN v.fixed IS NOT NULL THEN (SELECT f.fix_date FROM fixes f "
                     "WHERE f.vuln_id = v.vuln_id AND f.pkg = v.pkg) END, "
                     "CASE WHEN v.fixed IS NOT NULL THEN (SELECT f.fix_date_kind FROM fixes f "
                     "WHERE f.vuln_id = v.vuln_id AND f.pkg = v.pkg) END, "
                     "v.remedy, (SELECT p.purl FROM purls p WHERE p.id = v.purl) "
                     "FROM vulns v WHERE v.scan = ?",
                     &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, scan_id);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct pg_vuln v = { 0 };
      v.id = store_column_strdup (st, 0);
      v.pkg = store_column_strdup (st, 1);
      v.installed = store_column_strdup (st, 2);
      v.fixed = store_column_strdup (st, 3);
      v.severity = (enum pg_severity) sqlite3_column_int (st, 4);
      if (v.severity < 0 || v.severity >= PG_SEV_COUNT)
        v.severity = PG_SEV_UNKNOWN;
      v.status = store_column_strdup (st, 5);
      v.remedy = store_column_strdup (st, 9);
      store_fix_known (&v, sqlite3_column_int64 (st, 6), sqlite3_column_int64 (st, 7),
                       (const char *) sqlite3_column_text (st, 8));
      v.purl = store_column_strdup (st, 10);
      if (v.id == NULL || v.pkg == NULL)
        {
          pg_vuln_clear (&v);
          return store_sqlite_error (err, store, "reading vulnerabilities: a row without id or package");
        }
      store_add_loaded_vuln (rec, &v);
    }
  if (r != SQLITE_DONE)
    return store_sqlite_error (err, store, "reading vulnerabilities");
  return 0;
}

static int
load_packages (pg_store *store, int64_t scan_id, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (store_prepare (store, "SELECT name, version FROM packages WHERE scan = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, scan_id);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct pg_package *p;
      const char *name = (const char *) sqlite3_column_text (st, 0);
      if (!store_package_wanted (store, name))
        continue; /* not one the caller needs (store_set_package_filter) */
      rec->packages = xrealloc (rec->packages, (rec->n_packages + 1) * sizeof (*rec->packages));
      p = &rec->packages[rec->n_packages++];
      p->name = store_column_strdup (st, 0);
      p->version = store_column_strdup (st, 1);
    }
  if (r != SQLITE_DONE)
    return store_sqlite_error (err, store, "reading packages");
  return 0;
}

int
store_newest_scans (pg_store *store, int64_t image, struct pg_scan_ref **out, size_t *n, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  *out = NULL;
  *n = 0;
  if (store_prepare (
          store,
          "SELECT id, scanner, scanned_at FROM scans s WHERE image = ?1 AND id = (SELECT id FROM scans o "
          "WHERE o.image = ?1 AND o.scanner = s.scanner ORDER BY scanned_at DESC, id DESC LIMIT 1) "
          "ORDER BY s.scanner",
          &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      *out = xrealloc (*out, (*n + 1) * sizeof (**out));
      (*out)[*n].id = sqlite3_column_int64 (st, 0);
      (*out)[*n].scanner = store_column_strdup (st, 1);
      (*out)[*n].scanned_at = sqlite3_column_int64 (st, 2);
      ++*n;
    }
  if (r != SQLITE_DONE)
    {
      pg_scan_refs_free (*out, *n);
      *out = NULL;
      *n = 0;
      return store_sqlite_error (err, store, "reading scans");
    }
  return 0;
}

void
pg_scan_refs_free (struct pg_scan_ref *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (v[i].scanner);
  free (v);
}

int
store_load_scan_findings (pg_store *store, int64_t scan_id, struct pg_image_record *rec, pg_error_t *err)
{
  if (load_vulns (store, scan_id, rec, err) < 0 || load_packages (store, scan_id, rec, err) < 0)
    return -1;
  return 0;
}

/* Findings come from the newest scan of each scanner: a Grype and a Trivy
   report of the same image both count, and an older report of the same
   scanner is superseded by the newer one.  */
static int
load_findings (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  struct pg_scan_ref *scans;
  size_t n;
  int r = 0;

  if (store_newest_scans (store, image, &scans, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n && r == 0; i++)
    r = store_load_scan_findings (store, scans[i].id, rec, err);
  pg_scan_refs_free (scans, n);
  return r;
}

/* "a\nb" as the store keeps a list (write.c), onto *V.  */
static void
split_lines (const char *s, char ***v, size_t *n)
{
  while (s && *s)
    {
      const char *nl = strchr (s, '\n');
      size_t len = nl ? (size_t) (nl - s) : strlen (s);
      cleanup_free char *one = strndup (s, len);
      if (len)
        strv_append (v, n, one);
      s = nl ? nl + 1 : NULL;
    }
}

int
store_load_vex_rows (pg_store *store, sqlite3_stmt *st, struct pg_image_record *rec, pg_error_t *err)
{
  int r;

  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct pg_vex *v;
      const char *digest = (const char *) sqlite3_column_text (st, 5);
      const char *repository = (const char *) sqlite3_column_text (st, 6);
      const char *tag = (const char *) sqlite3_column_text (st, 7);

      rec->vex = xrealloc (rec->vex, (rec->n_vex + 1) * sizeof (*rec->vex));
      v = &rec->vex[rec->n_vex++];
      memset (v, 0, sizeof (*v));
      v->vuln_id = store_column_strdup (st, 0);
      split_lines ((const char *) sqlite3_column_text (st, 1), &v->aliases, &v->n_aliases);
      v->status = store_column_strdup (st, 2);
      v->justification = store_column_strdup (st, 3);
      v->issued = sqlite3_column_int64 (st, 4);
      v->digest = digest && *digest ? xstrdup (digest) : NULL;
      v->repository = repository && *repository ? xstrdup (repository) : NULL;
      v->tag = tag && *tag ? xstrdup (tag) : NULL;
      split_lines ((const char *) sqlite3_column_text (st, 8), &v->subcomponents, &v->n_subcomponents);
      v->source = store_column_strdup (st, 9);
      v->document = store_column_strdup (st, 10);
      v->index = (size_t) sqlite3_column_int64 (st, 11);
      if (v->vuln_id == NULL || v->status == NULL)
        return store_sqlite_error (err, store,
                                   "reading VEX statements: a row without vulnerability or status");
    }
  if (r != SQLITE_DONE)
    return store_sqlite_error (err, store, "reading VEX statements");
  return 0;
}

/* The statements about the image: those whose product is one of its
   digests, and those naming, without a digest, a repository it was scanned
   under (evaluation decides whether such a statement counts).  Oldest
   first, so that the latest is found last on a tie of nothing else.  */
static int
load_vex (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;

  if (store_prepare (
          store,
          "SELECT vuln_id, aliases, status, justification, issued, digest, repository, tag, subcomponents, "
          "source, document, statement FROM vex_statements "
          "WHERE digest IN (SELECT digest FROM digests WHERE image = ?1) "
          "OR (repository != '' AND repository IN (SELECT repository FROM names WHERE image = ?1)) "
          "ORDER BY issued, id",
          &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  return store_load_vex_rows (store, st, rec, err);
}

static int
load_record (pg_store *store, int64_t image, struct pg_image_record *rec, pg_error_t *err)
{
  int64_t scan_id = 0;
  int r;

  memset (rec, 0, sizeof (*rec));
  if (store_load_identity (store, image, rec, err) < 0 || load_names (store, image, rec, err) < 0)
    goto fail;
  r = store_load_newest_scan (store, image, rec, &scan_id, err);
  if (r < 0)
    goto fail;
  if (r > 0 && (load_findings (store, image, rec, err) < 0 || load_vex (store, image, rec, err) < 0))
    goto fail;
  return 1;
fail:
  pg_image_record_free (rec);
  return -1;
}

/* A digest as users and engines write it ("sha256:<hex>" or a bare image
   ID) to the image's row.  */
static int
find_image (pg_store *store, const char *digest, int64_t *image, pg_error_t *err)
{
  char buf[80];

  if (is_hex64 (digest))
    {
      snprintf (buf, sizeof (buf), "sha256:%s", digest);
      digest = buf;
    }
  if (!is_sha256_digest (digest))
    return pg_make_error (err, 0, "`%s` is not a sha256 digest", digest);
  return store_find_image_rowid (store, digest, image, err);
}

int
store_lookup_digest (pg_store *store, const char *digest, struct pg_image_record *rec, pg_error_t *err)
{
  int64_t image;
  int r = find_image (store, digest, &image, err);
  if (r <= 0)
    return r;
  return load_record (store, image, rec, err);
}

int
store_load_image (pg_store *store, int64_t rowid, struct pg_image_record *rec, pg_error_t *err)
{
  return load_record (store, rowid, rec, err) < 0 ? -1 : 0;
}

/* The integers the one-column query SQL returns, bound to ARG when ARG >= 0. */
static int
rowid_list (pg_store *store, const char *sql, int64_t arg, int64_t **out, size_t *n, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  size_t cap = 0;
  int r;

  *out = NULL;
  *n = 0;
  if (store_prepare (store, sql, &st, err) < 0)
    return -1;
  if (arg >= 0)
    sqlite3_bind_int64 (st, 1, arg);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    {
      if (*n == cap)
        {
          cap = cap ? cap * 2 : 64;
          *out = xrealloc (*out, cap * sizeof (**out));
        }
      (*out)[(*n)++] = sqlite3_column_int64 (st, 0);
    }
  if (r != SQLITE_DONE)
    {
      free (*out);
      *out = NULL;
      *n = 0;
      return store_sqlite_error (err, store, "listing images");
    }
  return 0;
}

int
store_list_images (pg_store *store, int64_t **rowids, size_t *n, pg_error_t *err)
{
  return rowid_list (store, "SELECT id FROM images ORDER BY id", -1, rowids, n, err);
}

int
store_images_sharing_names (pg_store *store, int64_t rowid, int64_t **rowids, size_t *n, pg_error_t *err)
{
  return rowid_list (store,
                     "SELECT DISTINCT o.image FROM names me JOIN names o ON o.repository = me.repository "
                     "AND o.tag = me.tag WHERE me.image = ? AND o.image != me.image ORDER BY o.image",
                     rowid, rowids, n, err);
}

int
store_changes_since (pg_store *store, int64_t seq, struct pg_store_changes *out, pg_error_t *err)
{
  int64_t *max = NULL, *all = NULL;
  size_t n = 0;
  int r;

  memset (out, 0, sizeof (*out));
  if (rowid_list (store, "SELECT coalesce(max(seq), 0) FROM changes", -1, &max, &n, err) < 0)
    return -1;
  out->last = n ? max[0] : 0;
  free (max);
  if (rowid_list (store,
                  "SELECT EXISTS (SELECT 1 FROM changes WHERE seq > ? AND what NOT IN ('image', 'vex'))", seq,
                  &all, &n, err)
      < 0)
    return -1;
  out->all = n && all[0];
  free (all);
  if (out->all)
    return 0;
  /* The images changed, and those a changed OpenVEX statement names.  */
  r = rowid_list (store,
                  "SELECT image FROM changes WHERE seq > ?1 AND what = 'image' AND image IS NOT NULL "
                  "UNION SELECT d.image FROM changes c JOIN digests d ON d.digest = c.digest "
                  "WHERE c.seq > ?1 AND c.what = 'vex' ORDER BY 1",
                  seq, &out->images, &out->n_images, err);
  return r;
}

int
store_image_digests (pg_store *store, int64_t rowid, char ***digests, size_t *n, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  *digests = NULL;
  *n = 0;
  if (store_prepare (store, "SELECT digest FROM digests WHERE image = ? ORDER BY digest", &st, err) < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, rowid);
  while ((r = sqlite3_step (st)) == SQLITE_ROW)
    strv_append (digests, n, (const char *) sqlite3_column_text (st, 0));
  if (r != SQLITE_DONE)
    {
      strv_free (*digests, *n);
      *digests = NULL;
      *n = 0;
      return store_sqlite_error (err, store, "reading an image's digests");
    }
  return 0;
}

int
store_lookup_diff_ids (pg_store *store, const char *digest, char ***diff_ids, size_t *n_diff_ids,
                       pg_error_t *err)
{
  struct pg_image_record rec;
  int64_t image;
  int r = find_image (store, digest, &image, err);

  if (r <= 0)
    return r;
  memset (&rec, 0, sizeof (rec));
  if (store_load_identity (store, image, &rec, err) < 0)
    {
      pg_image_record_free (&rec);
      return -1;
    }
  *diff_ids = rec.diff_ids;
  *n_diff_ids = rec.n_diff_ids;
  rec.diff_ids = NULL;
  rec.n_diff_ids = 0;
  pg_image_record_free (&rec);
  return 1;
}

int
store_lookup_name (pg_store *store, const char *repository, const char *tag, struct pg_image_record *rec,
                   pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  if (store_prepare (store,
                     "SELECT n.image FROM names n JOIN scans s ON s.image = n.image "
                     "WHERE n.repository = ? AND n.tag = ? ORDER BY s.scanned_at DESC LIMIT 1",
                     &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, repository, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, tag ? tag : "latest", -1, SQLITE_STATIC);
  r = sqlite3_step (st);
  if (r == SQLITE_DONE)
    return 0;
  if (r != SQLITE_ROW)
    return store_sqlite_error (err, store, "looking up an image name");
  return load_record (store, sqlite3_column_int64 (st, 0), rec, err);
}

int
store_find_newer_build (pg_store *store, const struct pg_image_record *rec, char **digest, char **name,
                        int64_t *since, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  /* A newer build carries the same repository:tag and was first seen under
     it after this image was.  The oldest such build starts the grace period.
     A record made from a scan not recorded (store_record_from_scan) brings
     its names with it; a loaded one has them in the names table.  */
  if (rec->repo_tag_first_seen)
    {
      cleanup_json json_t *names = json_array ();
      cleanup_free char *text = NULL;
      for (size_t i = 0; i < rec->n_repo_tags; i++)
        {
          /* "repository:tag" as the names table's rows make it: a tag has
             no ':', a repository may (a registry's port).  */
          const char *colon = strrchr (rec->repo_tags[i], ':');
          cleanup_free char *repo = colon ? strndup (rec->repo_tags[i], colon - rec->repo_tags[i]) : NULL;
          if (repo)
            json_array_append_new (
                names, json_pack ("[s, s, I]", repo, colon + 1, (json_int_t) rec->repo_tag_first_seen[i]));
        }
      text = json_dumps (names, JSON_COMPACT);
      if (store_prepare (store,
                         PG_NEWER_BUILD_SQL_HEAD
                         "(SELECT ?1 AS image, value ->> 0 AS repository, value ->> 1 AS tag, "
                         "value ->> 2 AS first_seen FROM json_each (?2)) me" PG_NEWER_BUILD_SQL_TAIL,
                         &st, err)
          < 0)
        return -1;
      sqlite3_bind_text (st, 2, text, -1, SQLITE_TRANSIENT);
    }
  else if (store_prepare (store, PG_NEWER_BUILD_SQL_HEAD "names me" PG_NEWER_BUILD_SQL_TAIL, &st, err) < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, rec->rowid);
  r = sqlite3_step (st);
  if (r == SQLITE_DONE)
    return 0;
  if (r != SQLITE_ROW)
    return store_sqlite_error (err, store, "looking for newer builds");
  *digest = store_column_strdup (st, 0);
  *name = store_column_strdup (st, 1);
  *since = sqlite3_column_int64 (st, 2);
  return 1;
}

int
store_get_policy (pg_store *store, char **json, char **version, int64_t *set_at, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int r;

  *json = NULL;
  if (store_prepare (store, "SELECT body, version, set_at FROM policy WHERE id = 1", &st, err) < 0)
    return -1;
  r = sqlite3_step (st);
  if (r == SQLITE_DONE)
    return 0;
  if (r != SQLITE_ROW)
    return store_sqlite_error (err, store, "reading the policy");
  *json = store_column_strdup (st, 0);
  if (version)
    *version = store_column_strdup (st, 1);
  if (set_at)
    *set_at = sqlite3_column_int64 (st, 2);
  return 1;
}

int
store_status (pg_store *store, struct pg_store_status *s, pg_error_t *err)
{
  memset (s, 0, sizeof (*s));
  if (store_schema_version (store, &s->schema_version, err) < 0)
    return -1;
  if (store_query_int64 (store, "SELECT count(*) FROM images", &s->images, err) < 0
      || store_query_int64 (store, "SELECT count(*) FROM scans", &s->scans, err) < 0
      || store_query_int64 (store, "SELECT count(*) FROM vulns", &s->vulns, err) < 0
      || store_query_int64 (store, "SELECT coalesce(max(scanned_at), 0) FROM scans", &s->newest_scan, err) < 0
      || store_query_int64 (store, "SELECT coalesce(max(imported_at), 0) FROM scans", &s->last_import, err)
             < 0)
    return -1;
  return 0;
}
