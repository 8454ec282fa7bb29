/* `patchgate check --report`: a report judged without storing it
   (decide_scan) gets exactly the decision that deciding the image after
   importing the report gives (decide_image), for every real report, at
   every instant, over databases that do not know the image, know its
   earlier scans (fixes first listed then, first-seen times, names), or
   know this very scan already; with a newer build of its tag, a revoked
   base, a VEX statement and a waiver around (history.h).  */
#include "history.h"

#include <fcntl.h>

static void
copy_file (const char *from, const char *to)
{
  cleanup_free char *text = NULL;
  size_t len;
  pg_error_t err = NULL;
  assert_int_equal (read_all_file (from, 1 << 28, &text, &len, &err), 0);
  assert_int_equal (pg_write_file_atomic (to, text, len, &err), 0);
}

/* The decision for S, at every instant after its import, both ways.  */
static void
compare (const char *db, const struct pg_scan *s, bool import_first, const char *what)
{
  cleanup_free char *copy = NULL;
  cleanup_store pg_store *ro = NULL;
  cleanup_store pg_store *rw = NULL;
  struct pg_scan_digest digest[1];
  int64_t imported = s->scanned_at + 600;
  pg_error_t err = NULL;
  size_t compared = 0;

  assert_int_equal (pg_scan_digests (s, digest, 1), 1);
  xasprintf (&copy, "%s.imported", db);
  copy_file (db, copy);
  assert_int_equal (store_open (copy, 0, &rw, &err), 0);
  if (import_first)
    hist_record (rw, s, imported);
  assert_int_equal (store_open (db, PG_STORE_READONLY, &ro, &err), 0);
  for (size_t t = 0; t < HIST_N_INSTANTS; t++)
    {
      struct pg_context ctx = { .container_id = "history", .engine = "runc", .digest = digest[0].digest };
      cleanup_decision struct pg_decision d = { 0 };
      cleanup_json json_t *judged = NULL;
      cleanup_json json_t *stored = NULL;
      if (hist_instants[t] < imported)
        continue;
      if (decide_scan (ro, s, &ctx, hist_instants[t], &d, &err) < 0)
        fail_msg ("%s: decide_scan %s: %s", what, s->source, err->msg);
      judged = report_json (&d, &ctx);
      stored = hist_decide (rw, digest[0].digest, hist_instants[t]);
      if (!json_equal (judged, stored))
        {
          cleanup_free char *x = json_dumps (judged, JSON_INDENT (2));
          cleanup_free char *y = json_dumps (stored, JSON_INDENT (2));
          fail_msg ("%s: %s at %lld: judged unstored:\n%s\nafter the import:\n%s", what, s->source,
                    (long long) hist_instants[t], x, y);
        }
      compared++;
    }
  assert_true (compared > 0);
  unlink (copy);
}

static void
test_fresh_image (void **state)
{
  for (size_t r = 0; r < HIST_N_REPORTS; r++)
    {
      cleanup_temp_db char *db = suite_temp_db ();
      struct pg_scan s;
      hist_build (db, 0, 0, HIST_N_REPORTS);
      hist_round_scan (r, HIST_ROUNDS - 1, &s);
      compare (db, &s, true, "a database without the image");
      pg_scan_free (&s);
    }
}

static void
test_image_with_history (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();

  hist_build (db, 0, HIST_ROUNDS - 1, HIST_N_REPORTS);
  for (size_t r = 0; r < HIST_N_REPORTS; r++)
    {
      struct pg_scan s;
      hist_round_scan (r, HIST_ROUNDS - 1, &s);
      compare (db, &s, true, "a database with the image's earlier scans");
      pg_scan_free (&s);
    }
}

/* The first round, judged against the later ones: the stored scans stay
   the newest, and only the report's earlier times (fixes listed, names
   seen) change anything.  */
static void
test_older_report_than_stored (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();

  hist_build (db, 1, HIST_ROUNDS, HIST_N_REPORTS);
  for (size_t r = 0; r < HIST_N_REPORTS; r++)
    {
      struct pg_scan s;
      hist_round_scan (r, 0, &s);
      compare (db, &s, true, "a report older than the stored scans");
      pg_scan_free (&s);
    }
}

/* Only the other scanner's scans of the image are stored: both scanners'
   findings count once the report is imported.  */
static void
test_other_scanner_stored (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();

  hist_build (db, 0, HIST_ROUNDS - 1, 0); /* every report but trivy's nginx */
  {
    struct pg_scan s;
    hist_round_scan (0, HIST_ROUNDS - 1, &s);
    compare (db, &s, true, "a database with the other scanner's scans");
    pg_scan_free (&s);
  }
}

static void
test_already_imported (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();

  hist_build (db, 0, HIST_ROUNDS, HIST_N_REPORTS);
  for (size_t r = 0; r < HIST_N_REPORTS; r++)
    {
      struct pg_scan s;
      hist_round_scan (r, HIST_ROUNDS - 1, &s);
      compare (db, &s, false, "a database that has this very scan");
      pg_scan_free (&s);
    }
}

/* What the import refuses, judging refuses too.  */
static void
test_refused_as_the_import_would (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_store pg_store *ro = NULL;
  cleanup_decision struct pg_decision d = { 0 };
  struct pg_context ctx = { .container_id = "history", .engine = "runc" };
  struct pg_scan s = { 0 };
  pg_error_t err = NULL;

  hist_build (db, 0, 1, HIST_N_REPORTS);
  assert_int_equal (store_open (db, PG_STORE_READONLY, &ro, &err), 0);
  s.scanner = xstrdup ("trivy");
  s.scanned_at = HIST_LAST;
  s.source = xstrdup ("no-digest.json");
  assert_int_equal (decide_scan (ro, &s, &ctx, HIST_LAST + 3600, &d, &err), -1);
  assert_non_null (strstr (err->msg, "names no image digest"));
  pg_error_release (&err);
  pg_scan_free (&s);

  /* The digests of two stored images in one report.  */
  hist_load ("trivy/nginx-debian12.json", &s);
  free (s.image_id);
  s.image_id = xstrdup (HIST_BASE);
  assert_int_equal (decide_scan (ro, &s, &ctx, HIST_LAST + 3600, &d, &err), -1);
  assert_non_null (strstr (err->msg, "already belongs to another image"));
  pg_error_release (&err);
  pg_scan_free (&s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_fresh_image),
    cmocka_unit_test (test_image_with_history),
    cmocka_unit_test (test_older_report_than_stored),
    cmocka_unit_test (test_other_scanner_stored),
    cmocka_unit_test (test_already_imported),
    cmocka_unit_test (test_refused_as_the_import_would),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
