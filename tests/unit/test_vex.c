/* OpenVEX import: statements reach the image record through any of its
   digests (image ID by purl, repo digest), "affected" changes nothing, and
   a malformed document leaves the database unchanged.  */
#include "suite.h"
#include "import/import.h"
#include "base/clock.h"

#define NGINX "sha256:be69f2940aaf64fdf50c9c99420cbd57e10ee655ec7204df1c407e9af63d0cc1"

static const struct pg_vex *
find_vex (const struct pg_image_record *rec, const char *id)
{
  for (size_t i = 0; i < rec->n_vex; i++)
    if (strcmp (rec->vex[i].vuln_id, id) == 0)
      return &rec->vex[i];
  return NULL;
}

static void
test_vex_import (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_store pg_store *st = NULL;
  pg_error_t err = NULL;
  struct import_stats stats;
  struct pg_image_record rec;
  char *paths[3];
  int64_t t;

  paths[0] = suite_path ("../shared/testdata/reports/trivy/nginx-debian12.json");
  paths[1] = suite_path ("tests/unit/data/vex/nginx-v0.2.json");
  paths[2] = suite_path ("tests/unit/data/vex/nginx-v0.0.1.json");
  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  if (import_paths (st, paths, 3, 1800000000, &stats, &err) < 0)
    fail_msg ("import: %s", err->msg);
  assert_int_equal (stats.vex, 3); /* the "affected" statement is not recorded */
  assert_int_equal (store_lookup_digest (st, NGINX, &rec, &err), 1);
  assert_int_equal (rec.n_vex, 3);
  assert_non_null (find_vex (&rec, "CVE-2025-48174"));
  assert_string_equal (find_vex (&rec, "CVE-2025-48174")->status, "not_affected");
  assert_int_equal (parse_rfc3339 ("2025-06-10T00:00:00Z", &t), 0);
  assert_int_equal (find_vex (&rec, "CVE-2023-6879")->issued, t); /* the statement's own time wins */
  assert_non_null (find_vex (&rec, "CVE-2025-48175"));            /* found through the repo digest */
  assert_null (find_vex (&rec, "CVE-2023-44487"));
  pg_image_record_free (&rec);
  for (int i = 0; i < 3; i++)
    free (paths[i]);
}

static void
test_vex_malformed_changes_nothing (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_store pg_store *st = NULL;
  pg_error_t err = NULL;
  struct pg_image_record rec;
  char *paths[2];

  paths[0] = suite_path ("tests/unit/data/vex/nginx-v0.2.json");
  paths[1] = suite_path ("tests/unit/data/vex/no-products.json");
  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  assert_int_equal (import_paths (st, paths, 2, 1800000000, NULL, &err), -1);
  assert_non_null (strstr (err->msg, "statements[0]: no products"));
  pg_error_release (&err);
  free (paths[0]);
  free (paths[1]);
  /* Nothing of the good document was kept either.  */
  paths[0] = suite_path ("../shared/testdata/reports/trivy/nginx-debian12.json");
  assert_int_equal (import_paths (st, paths, 1, 1800000000, NULL, &err), 0);
  assert_int_equal (store_lookup_digest (st, NGINX, &rec, &err), 1);
  assert_int_equal (rec.n_vex, 0);
  pg_image_record_free (&rec);
  free (paths[0]);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_vex_import),
    cmocka_unit_test (test_vex_malformed_changes_nothing),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
