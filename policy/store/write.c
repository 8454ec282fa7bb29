/* patchgate: writing to the store: scans and their findings, OpenVEX
 * statements, the policy.  Callers hold a write transaction.
 */
#include "store/store.h"
#include "store/connection.h"

#include <string.h>

static int
upsert_image (pg_store *store, const struct pg_scan *scan, int64_t now, int64_t *rowid, pg_error_t *err)
{
  struct pg_scan_digest refs[64];
  size_t n = pg_scan_digests (scan, refs, 64);
  cleanup_stmt sqlite3_stmt *ins = NULL;
  cleanup_free char *diff_ids = NULL;
  size_t dlen = 0;

  if (n == 0)
    return pg_make_error (err, 0, "%s: the report names no image digest",
                          scan->source ? scan->source : "report");

  for (size_t i = 0; i < n; i++)
    {
      int r = store_find_image_rowid (store, refs[i].digest, rowid, err);
      if (r < 0)
        return -1;
      if (r > 0)
        goto have_image;
    }

  for (size_t i = 0; i < scan->n_diff_ids; i++)
    dlen += strlen (scan->diff_ids[i]) + 1;
  diff_ids = xmalloc0 (dlen + 1);
  for (size_t i = 0; i < scan->n_diff_ids; i++)
    {
      strcat (diff_ids, scan->diff_ids[i]);
      strcat (diff_ids, "\n");
    }
  if (store_prepare (store,
                     "INSERT INTO images (image_id, created, first_seen, diff_ids) VALUES (?, ?, ?, ?)", &ins,
                     err)
      < 0)
    return -1;
  store_bind_text_or_null (ins, 1, scan->image_id);
  sqlite3_bind_int64 (ins, 2, scan->created);
  /* First seen: the earlier of the scan and the import, so that importing
     an old report later does not make an image look newer than it is.  */
  sqlite3_bind_int64 (ins, 3, scan->scanned_at < now ? scan->scanned_at : now);
  sqlite3_bind_text (ins, 4, diff_ids, -1, SQLITE_STATIC);
  if (store_step_done (store, ins, "adding an image", err) < 0)
    return -1;
  *rowid = sqlite3_last_insert_rowid (store->db);

have_image:
  {
    cleanup_stmt sqlite3_stmt *dig = NULL;
    cleanup_stmt sqlite3_stmt *upd = NULL;
    if (store_prepare (store, "INSERT OR IGNORE INTO digests (digest, image, kind) VALUES (?, ?, ?)", &dig,
                       err)
        < 0)
      return -1;
    for (size_t i = 0; i < n; i++)
      {
        int64_t other;
        int r = store_find_image_rowid (store, refs[i].digest, &other, err);
        if (r < 0)
          return -1;
        if (r > 0 && other != *rowid)
          return pg_make_error (err, 0, "%s: digest %s already belongs to another image record",
                                scan->source ? scan->source : "report", refs[i].digest);
        sqlite3_bind_text (dig, 1, refs[i].digest, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (dig, 2, *rowid);
        sqlite3_bind_text (dig, 3, refs[i].kind, -1, SQLITE_STATIC);
        if (store_step_done (store, dig, "adding a digest", err) < 0)
          return -1;
      }
    /* Fill in what an earlier report lacked (Grype gives no image ID for
       some sources; an old report may lack the build time).  */
    if (store_prepare (store,
                       "UPDATE images SET image_id = coalesce(image_id, ?), created = max(created, ?), "
                       "first_seen = min(first_seen, ?) WHERE id = ?",
                       &upd, err)
        < 0)
      return -1;
    store_bind_text_or_null (upd, 1, scan->image_id);
    sqlite3_bind_int64 (upd, 2, scan->created);
    sqlite3_bind_int64 (upd, 3, scan->scanned_at < now ? scan->scanned_at : now);
    sqlite3_bind_int64 (upd, 4, *rowid);
    return store_step_done (store, upd, "updating an image", err);
  }
}

static int
add_name (pg_store *store, sqlite3_stmt *st, int64_t image, const char *ref, int64_t seen, pg_error_t *err)
{
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  if (image_ref_parse (ref, &repo, &tag, NULL) < 0)
    return 0; /* scanners write odd names ("REDACTED"); they only lose a name */
  sqlite3_bind_int64 (st, 1, image);
  sqlite3_bind_text (st, 2, repo, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, tag ? tag : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, seen);
  return store_step_done (store, st, "adding an image name", err);
}

static int
add_names (pg_store *store, const struct pg_scan *scan, int64_t image, int64_t seen, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (store_prepare (store,
                     "INSERT INTO names (image, repository, tag, first_seen) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT DO UPDATE SET first_seen = min(first_seen, excluded.first_seen)",
                     &st, err)
      < 0)
    return -1;
  for (size_t i = 0; i < scan->n_repo_tags; i++)
    if (add_name (store, st, image, scan->repo_tags[i], seen, err) < 0)
      return -1;
  for (size_t i = 0; i < scan->n_repo_digests; i++)
    if (add_name (store, st, image, scan->repo_digests[i], seen, err) < 0)
      return -1;
  return 0;
}

static int
add_vulns (pg_store *store, const struct pg_scan *scan, int64_t scan_id, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  cleanup_stmt sqlite3_stmt *fix = NULL;
  cleanup_stmt sqlite3_stmt *purl = NULL;
  /* The fix date kept is the earliest any report gave, with its kind (the
     smaller kind on a tie, so the import order does not matter).  SQLite
     computes every SET from the row as it was.  */
  if (store_prepare (
          store,
          "INSERT INTO vulns (scan, vuln_id, pkg, installed, fixed, severity, status, remedy, purl) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          &st, err)
          < 0
      || store_prepare (
             store,
             "INSERT INTO fixes (vuln_id, pkg, first_seen, fix_date, fix_date_kind) VALUES (?, ?, ?, ?, ?) "
             "ON CONFLICT DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), "
             "fix_date = coalesce(min(fix_date, excluded.fix_date), fix_date, excluded.fix_date), "
             "fix_date_kind = CASE WHEN excluded.fix_date IS NULL THEN fix_date_kind "
             "WHEN fix_date IS NULL OR excluded.fix_date < fix_date THEN excluded.fix_date_kind "
             "WHEN excluded.fix_date = fix_date AND excluded.fix_date_kind < fix_date_kind "
             "THEN excluded.fix_date_kind ELSE fix_date_kind END",
             &fix, err)
             < 0
      || store_prepare (
             store,
             "INSERT INTO purls (purl) VALUES (?) ON CONFLICT (purl) DO UPDATE SET purl = excluded.purl "
             "RETURNING id",
             &purl, err)
             < 0)
    return -1;
  for (size_t i = 0; i < scan->n_vulns; i++)
    {
      const struct pg_vuln *v = &scan->vulns[i];
      sqlite3_bind_null (st, 9);
      if (v->purl)
        {
          sqlite3_bind_text (purl, 1, v->purl, -1, SQLITE_STATIC);
          if (sqlite3_step (purl) != SQLITE_ROW)
            return store_sqlite_error (err, store, "recording a package URL");
          sqlite3_bind_int64 (st, 9, sqlite3_column_int64 (purl, 0));
          sqlite3_reset (purl);
        }
      sqlite3_bind_int64 (st, 1, scan_id);
      sqlite3_bind_text (st, 2, v->id ? v->id : "", -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, v->pkg ? v->pkg : "", -1, SQLITE_STATIC);
      store_bind_text_or_null (st, 4, v->installed);
      store_bind_text_or_null (st, 5, v->fixed);
      sqlite3_bind_int (st, 6, (int) v->severity);
      store_bind_text_or_null (st, 7, v->status);
      store_bind_text_or_null (st, 8, v->remedy);
      if (store_step_done (store, st, "adding a vulnerability", err) < 0)
        return -1;
      /* The grace clock starts when a scan saw the finding fixable: a
         version named under will_not_fix (and the like) is no fix, and a
         clock started by it would leave no grace once the fix ships.  */
      if (!pg_vuln_fixable (v))
        continue;
      sqlite3_bind_text (fix, 1, v->id ? v->id : "", -1, SQLITE_STATIC);
      sqlite3_bind_text (fix, 2, v->pkg ? v->pkg : "", -1, SQLITE_STATIC);
      sqlite3_bind_int64 (fix, 3, scan->scanned_at);
      if (v->fix_date > 0)
        sqlite3_bind_int64 (fix, 4, v->fix_date);
      else
        sqlite3_bind_null (fix, 4);
      store_bind_text_or_null (fix, 5, v->fix_date > 0 ? v->fix_date_kind : NULL);
      if (store_step_done (store, fix, "recording a fix", err) < 0)
        return -1;
    }
  return 0;
}

static int
add_packages (pg_store *store, const struct pg_scan *scan, int64_t scan_id, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (scan->n_packages == 0)
    return 0;
  if (store_prepare (store, "INSERT INTO packages (scan, name, version) VALUES (?, ?, ?)", &st, err) < 0)
    return -1;
  for (size_t i = 0; i < scan->n_packages; i++)
    {
      sqlite3_bind_int64 (st, 1, scan_id);
      sqlite3_bind_text (st, 2, scan->packages[i].name, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, scan->packages[i].version, -1, SQLITE_STATIC);
      if (store_step_done (store, st, "adding a package", err) < 0)
        return -1;
    }
  return 0;
}

int
store_add_scan (pg_store *store, const struct pg_scan *scan, int64_t now, pg_error_t *err)
{
  return store_add_scan_image (store, scan, now, NULL, err);
}

int
store_add_scan_image (pg_store *store, const struct pg_scan *scan, int64_t now, int64_t *image_out,
                      pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  int64_t image, scan_id;

  if (upsert_image (store, scan, now, &image, err) < 0
      || add_names (store, scan, image, scan->scanned_at, err) < 0)
    return -1;
  if (store_prepare (
          store,
          "INSERT OR IGNORE INTO scans (image, scanned_at, scanner, scanner_version, os_family, os_name, "
          "eosl, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          &st, err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, image);
  sqlite3_bind_int64 (st, 2, scan->scanned_at);
  sqlite3_bind_text (st, 3, scan->scanner ? scan->scanner : "unknown", -1, SQLITE_STATIC);
  store_bind_text_or_null (st, 4, scan->scanner_version);
  store_bind_text_or_null (st, 5, scan->os_family);
  store_bind_text_or_null (st, 6, scan->os_name);
  sqlite3_bind_int (st, 7, scan->eosl ? 1 : 0);
  store_bind_text_or_null (st, 8, scan->source);
  sqlite3_bind_int64 (st, 9, now);
  if (sqlite3_step (st) != SQLITE_DONE)
    return store_sqlite_error (err, store, "adding a scan");
  if (image_out)
    *image_out = image;
  if (sqlite3_changes (store->db) == 0)
    return 0;
  scan_id = sqlite3_last_insert_rowid (store->db);
  if (add_vulns (store, scan, scan_id, err) < 0 || add_packages (store, scan, scan_id, err) < 0)
    return -1;
  return 1;
}

/* A list as the store keeps it: one entry a line (no entry holds a
   newline: the importer refuses control characters).  */
static char *
join_lines (char *const *v, size_t n)
{
  size_t len = 1;
  char *out;
  for (size_t i = 0; i < n; i++)
    len += strlen (v[i]) + 1;
  out = xmalloc0 (len);
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        strcat (out, "\n");
      strcat (out, v[i]);
    }
  return out;
}

int
store_add_vex (pg_store *store, const struct pg_vex *vex, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  cleanup_free char *aliases = join_lines (vex->aliases, vex->n_aliases);
  cleanup_free char *subcomponents = join_lines (vex->subcomponents, vex->n_subcomponents);

  if (store_prepare (
          store,
          "INSERT OR IGNORE INTO vex_statements (digest, repository, tag, vuln_id, aliases, status, "
          "justification, issued, subcomponents, source, document, statement) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, vex->digest ? vex->digest : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, vex->repository ? vex->repository : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 3, vex->tag ? vex->tag : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, vex->vuln_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 5, aliases, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 6, vex->status, -1, SQLITE_STATIC);
  store_bind_text_or_null (st, 7, vex->justification);
  sqlite3_bind_int64 (st, 8, vex->issued);
  sqlite3_bind_text (st, 9, subcomponents, -1, SQLITE_STATIC);
  store_bind_text_or_null (st, 10, vex->source);
  store_bind_text_or_null (st, 11, vex->document);
  sqlite3_bind_int64 (st, 12, (sqlite3_int64) vex->index);
  if (store_step_done (store, st, "adding a VEX statement", err) < 0)
    return -1;
  return sqlite3_changes (store->db) > 0 ? 1 : 0;
}

int
store_set_policy (pg_store *store, const char *json, const char *version, int64_t now, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (store_prepare (store, "INSERT OR REPLACE INTO policy (id, version, body, set_at) VALUES (1, ?, ?, ?)",
                     &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, version, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, json, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, now);
  return store_step_done (store, st, "storing the policy", err);
}
