/* Retention: a pruned database decides and explains every image exactly as
   before.  A differential test on the real reports, each imported in
   several rounds (history.h): every image decided at every instant, before
   and after pruning, must give the same decision, reasons, details,
   remedies, waivers and log line.  */
#include "history.h"

#include <sys/stat.h>

static int64_t
count_rows (const char *path, const char *table)
{
  cleanup_store pg_store *st = NULL;
  cleanup_free char *sql = NULL;
  sqlite3_stmt *q = NULL;
  pg_error_t err = NULL;
  int64_t n;

  assert_int_equal (store_open (path, PG_STORE_READONLY, &st, &err), 0);
  xasprintf (&sql, "SELECT count(*) FROM %s", table);
  assert_int_equal (sqlite3_prepare_v2 (store_db (st), sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_step (q), SQLITE_ROW);
  n = sqlite3_column_int64 (q, 0);
  sqlite3_finalize (q);
  return n;
}

static int64_t
file_size (const char *path)
{
  struct stat sb;
  assert_int_equal (stat (path, &sb), 0);
  return sb.st_size;
}

/* As `patchgate prune` does it: a writer's transaction, then the VACUUM
   after its commit.  */
static void
prune (const char *path, int64_t keep_since, struct pg_prune_stats *st)
{
  cleanup_store_edit struct pg_store_edit edit = PG_STORE_EDIT_INIT;
  pg_error_t err = NULL;

  if (store_edit_begin (path, &edit, &err) < 0 || store_prune (edit.store, keep_since, true, st, &err) < 0
      || store_edit_commit (&edit, &err) < 0)
    fail_msg ("prune: %s", err->msg);
  if (st->vacuumed)
    st->bytes_after = edit.bytes_after;
}

static void
test_pruned_decides_as_before (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_json json_t *before = NULL;
  cleanup_json json_t *after_some = NULL;
  cleanup_json json_t *after_all = NULL;
  struct pg_prune_stats st;
  int64_t scans, vulns, packages, pairs, size;
  static const char *const codes[]
      = { "SCAN_STALE",   "FIXABLE_CRITICAL",  "FIXABLE_MEDIUM", "SUPERSEDED",
          "REVOKED_BASE", "BELOW_MIN_VERSION", "EOL_OS",         "IMAGE_TOO_OLD" };

  hist_build (db, 0, HIST_ROUNDS, HIST_N_REPORTS);
  before = hist_decide_all (db);
  /* The decisions say much, so that an identical one means something.  */
  for (size_t i = 0; i < sizeof (codes) / sizeof (codes[0]); i++)
    if (!hist_has_reason (before, codes[i]))
      fail_msg ("no decision has %s: the history does not exercise it", codes[i]);
  assert_true (hist_has_detail (before, "IMAGE_TOO_OLD", "was first seen"));
  assert_true (hist_has_detail (before, "FIXABLE_", "when an imported scan first listed it"));
  assert_true (hist_has_detail (before, "FIXABLE_", "per the scanner's fix date (advisory)"));
  scans = count_rows (db, "scans");
  vulns = count_rows (db, "vulns");
  packages = count_rows (db, "packages");
  pairs = count_rows (db, "(SELECT DISTINCT image, scanner FROM scans)");
  size = file_size (db);

  /* Keeping the last two weeks: the older rounds go.  */
  prune (db, HIST_LAST - 14 * HIST_DAY, &st);
  after_some = hist_decide_all (db);
  hist_assert_same (before, after_some, "keeping 14 days");
  assert_true (st.scans > 0);
  assert_int_equal (count_rows (db, "scans"), scans - st.scans);

  /* Keeping only what decisions read: one scan per image and scanner.  */
  prune (db, HIST_LAST + 1000 * HIST_DAY, &st);
  after_all = hist_decide_all (db);
  hist_assert_same (before, after_all, "keeping nothing more");
  assert_int_equal (count_rows (db, "scans"), pairs);
  assert_true (count_rows (db, "vulns") < vulns);
  assert_true (count_rows (db, "packages") < packages);
  /* VACUUM gave the space back.  */
  assert_true (st.vacuumed);
  assert_true (file_size (db) < size);
  /* In place, and checkpointed into the file.  */
  assert_int_equal (st.bytes_after, file_size (db));
  print_message ("pruned: %lld scans -> %lld, %lld bytes -> %lld\n", (long long) scans, (long long) pairs,
                 (long long) size, (long long) file_size (db));
}

/* An old report imported again after pruning (a re-run of an old scan job)
   changes nothing either: the fixes and first-seen times it would lower
   were kept.  */
static void
test_old_report_after_prune (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_json json_t *before = NULL;
  cleanup_json json_t *after = NULL;
  cleanup_store pg_store *st = NULL;
  struct pg_prune_stats ps;
  pg_error_t err = NULL;

  hist_build (db, 0, HIST_ROUNDS, HIST_N_REPORTS);
  before = hist_decide_all (db);
  prune (db, HIST_LAST + 1000 * HIST_DAY, &ps);
  assert_int_equal (store_open (db, 0, &st, &err), 0);
  for (size_t r = 0; r < HIST_N_REPORTS; r++)
    for (int round = 0; round < 2; round++)
      {
        struct pg_scan s;
        hist_round_scan (r, round, &s);
        hist_record (st, &s, HIST_LAST + 3600);
        pg_scan_free (&s);
      }
  store_close (st);
  st = NULL;
  after = hist_decide_all (db);
  hist_assert_same (before, after, "old reports imported again");
}

/* Reports imported out of order: the newest scan is the one scanned last,
   whenever it was imported, and that one stays.  */
static void
test_out_of_order_import (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_json json_t *before = NULL;
  cleanup_json json_t *after = NULL;
  cleanup_store pg_store *st = NULL;
  struct pg_prune_stats ps;
  pg_error_t err = NULL;

  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  for (int round = HIST_ROUNDS - 1; round >= 0; round--)
    for (size_t r = 0; r < HIST_N_REPORTS; r++)
      {
        struct pg_scan s;
        hist_round_scan (r, round, &s);
        hist_record (st, &s, HIST_LAST + 3600);
        pg_scan_free (&s);
      }
  hist_record_lineage (st);
  hist_set_policy (st);
  store_close (st);
  st = NULL;
  before = hist_decide_all (db);
  prune (db, HIST_LAST + 1000 * HIST_DAY, &ps);
  assert_true (ps.scans > 0);
  after = hist_decide_all (db);
  hist_assert_same (before, after, "out of order");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pruned_decides_as_before),
    cmocka_unit_test (test_old_report_after_prune),
    cmocka_unit_test (test_out_of_order_import),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
