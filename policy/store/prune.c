/* patchgate: retention.  Every rescan adds a scan with all its findings and
 * packages, and decisions read only the newest scan of each scanner of an
 * image: a year of daily rescans keeps 364 copies nothing reads.  Pruning
 * removes those (store.h says what stays), so a pruned database decides and
 * explains every image exactly as before (tests/unit/test_prune.c).
 */
#include "store/store.h"
#include "store/connection.h"

#include <string.h>

/* The scans to remove: scanned before ?1, and not the one read.c's
   load_findings reads for their image and scanner (the newest, the higher
   id on a tie), which is also the one load_newest_scan and
   store_lookup_name find.  */
#define PRUNED_SCANS                                                                                         \
  "SELECT s.id FROM scans s WHERE s.scanned_at < ?1 AND s.id != (SELECT o.id FROM scans o "                  \
  "WHERE o.image = s.image AND o.scanner = s.scanner ORDER BY o.scanned_at DESC, o.id DESC LIMIT 1)"

static int
delete_rows (pg_store *store, const char *sql, int64_t keep_since, int64_t *count, pg_error_t *err)
{
  cleanup_stmt sqlite3_stmt *st = NULL;

  if (store_prepare (store, sql, &st, err) < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, keep_since);
  if (store_step_done (store, st, "pruning scans", err) < 0)
    return -1;
  *count = sqlite3_changes64 (store_db (store));
  return 0;
}

int
store_prune_scans (pg_store *store, int64_t keep_since, struct pg_prune_stats *st, pg_error_t *err)
{
  /* Children first: the foreign keys hold at every statement.  */
  memset (st, 0, sizeof (*st));
  if (delete_rows (store, "DELETE FROM vulns WHERE scan IN (" PRUNED_SCANS ")", keep_since, &st->vulns, err)
          < 0
      || delete_rows (store, "DELETE FROM packages WHERE scan IN (" PRUNED_SCANS ")", keep_since,
                      &st->packages, err)
             < 0
      || delete_rows (store, "DELETE FROM scans WHERE id IN (" PRUNED_SCANS ")", keep_since, &st->scans, err)
             < 0)
    return -1;
  /* The deletes logged a change for every row (store.c's triggers), each
     one "recompile everything": one such entry says as much, and the log
     must not grow back what pruning gives back.  */
  if (st->scans > 0
      && store_exec_sql (store, "DELETE FROM changes; INSERT INTO changes (what) VALUES ('all')", err) < 0)
    return -1;
  return 0;
}

int
store_page_counts (pg_store *store, int64_t *pages, int64_t *free_pages, pg_error_t *err)
{
  if (store_query_int64 (store, "PRAGMA page_count", pages, err) < 0
      || store_query_int64 (store, "PRAGMA freelist_count", free_pages, err) < 0)
    return -1;
  return 0;
}

int
store_vacuum (pg_store *store, pg_error_t *err)
{
  if (store->readonly)
    return pg_make_error (err, 0, "%s: VACUUM on a read-only database", store->path);
  /* The cached statements are reset, never stepping: VACUUM may run.  */
  return store_exec_sql (store, "VACUUM", err);
}

int
store_file_bytes (pg_store *store, int64_t *bytes, pg_error_t *err)
{
  int64_t pages, page_size;
  if (store_query_int64 (store, "PRAGMA page_count", &pages, err) < 0
      || store_query_int64 (store, "PRAGMA page_size", &page_size, err) < 0)
    return -1;
  *bytes = pages * page_size;
  return 0;
}

int
store_prune (pg_store *store, int64_t keep_since, bool always_vacuum, struct pg_prune_stats *st,
             pg_error_t *err)
{
  int64_t pages, free_pages, bytes;

  if (store_begin (store, true, err) < 0)
    return -1;
  if (store_prune_scans (store, keep_since, st, err) < 0 || store_commit (store, err) < 0)
    {
      store_rollback (store);
      return -1;
    }
  if (store_file_bytes (store, &bytes, err) < 0 || store_page_counts (store, &pages, &free_pages, err) < 0)
    return -1;
  st->bytes_before = st->bytes_after = bytes;
  if (!always_vacuum && free_pages * 4 <= pages)
    return 0;
  st->vacuumed = true;
  /* A writer's change: after its commit (store_edit_commit).  */
  if (store->edit)
    {
      store->vacuum_due = true;
      return 0;
    }
  return store_vacuum (store, err) < 0 ? -1 : store_file_bytes (store, &st->bytes_after, err);
}
