/* The store: schema versioning, lookups by every digest, transactions.  */
#include "suite.h"
#include "store/store.h"
#include "rules/policy.h"
#include "base/digest.h"

#include <sqlite3.h>

#define IMG "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define MAN "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define REPO "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define IMG2 "sha256:4444444444444444444444444444444444444444444444444444444444444444"

static void
make_scan (struct pg_scan *s, const char *image_id, int64_t at, const char *tag)
{
  struct pg_vuln v
      = { .id = "CVE-1", .pkg = "curl", .installed = "1", .fixed = "2", .severity = PG_SEV_HIGH };
  memset (s, 0, sizeof (*s));
  s->scanner = xstrdup ("trivy");
  s->scanned_at = at;
  s->image_id = xstrdup (image_id);
  if (strcmp (image_id, IMG) == 0)
    {
      s->manifest_digest = xstrdup (MAN);
      strv_append (&s->repo_digests, &s->n_repo_digests, "registry.example.com/app@" REPO);
    }
  strv_append (&s->repo_tags, &s->n_repo_tags, tag);
  s->os_family = xstrdup ("debian");
  s->created = at - 86400;
  pg_scan_add_vuln (s, &v);
  pg_scan_add_package (s, "curl", "1");
}

static void
add (pg_store *st, const char *image_id, int64_t at, const char *tag, int expect)
{
  struct pg_scan s;
  pg_error_t err = NULL;
  make_scan (&s, image_id, at, tag);
  assert_int_equal (store_begin (st, true, &err), 0);
  assert_int_equal (store_add_scan (st, &s, at + 10, &err), expect);
  assert_int_equal (store_commit (st, &err), 0);
  pg_scan_free (&s);
}

static void
test_lookup_by_every_digest (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_store pg_store *st = NULL;
  pg_error_t err = NULL;
  const char *keys[] = { IMG, MAN, REPO, IMG + 7 };

  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  add (st, IMG, 1000000, "registry.example.com/app:1", 1);
  add (st, IMG, 1000000, "registry.example.com/app:1", 0); /* the same scan twice */
  add (st, IMG, 2000000, "registry.example.com/app:1", 1);
  for (size_t i = 0; i < 4; i++)
    {
      struct pg_image_record rec;
      assert_int_equal (store_lookup_digest (st, keys[i], &rec, &err), 1);
      assert_string_equal (rec.image_id, IMG);
      assert_string_equal (rec.manifest_digest, MAN);
      assert_true (rec.has_scan);
      assert_int_equal (rec.scanned_at, 2000000); /* the newest scan */
      assert_int_equal (rec.n_vulns, 1);
      assert_int_equal (rec.vulns[0].fix_known_since, 1000000); /* the first scan that saw the fix */
      assert_int_equal (rec.n_packages, 1);
      assert_string_equal (rec.repositories[0], "registry.example.com/app");
      pg_image_record_free (&rec);
    }
  {
    struct pg_image_record rec;
    assert_int_equal (store_lookup_digest (st, IMG2, &rec, &err), 0);
    assert_int_equal (store_lookup_name (st, "registry.example.com/app", "1", &rec, &err), 1);
    assert_string_equal (rec.image_id, IMG);
    pg_image_record_free (&rec);
  }
}

static void
test_newer_build (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_store pg_store *st = NULL;
  pg_error_t err = NULL;
  struct pg_image_record rec;
  cleanup_free char *digest = NULL;
  cleanup_free char *name = NULL;
  int64_t since = 0;

  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  add (st, IMG, 1000000, "registry.example.com/app:1", 1);
  add (st, IMG2, 3000000, "registry.example.com/app:1", 1);
  assert_int_equal (store_lookup_digest (st, IMG, &rec, &err), 1);
  assert_int_equal (store_find_newer_build (st, &rec, &digest, &name, &since, &err), 1);
  assert_string_equal (digest, IMG2);
  assert_string_equal (name, "registry.example.com/app:1");
  assert_int_equal (since, 3000000);
  pg_image_record_free (&rec);
  assert_int_equal (store_lookup_digest (st, IMG2, &rec, &err), 1);
  assert_int_equal (store_find_newer_build (st, &rec, &digest, &name, &since, &err), 0);
  pg_image_record_free (&rec);
}

static void
test_readonly_missing_and_foreign (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  pg_store *st = NULL;
  pg_error_t err = NULL;
  sqlite3 *raw;

  assert_int_equal (store_open (db, PG_STORE_READONLY, &st, &err), -1);
  assert_non_null (strstr (err->msg, "No such file"));
  pg_error_release (&err);
  /* A file that is SQLite but not ours.  */
  assert_int_equal (sqlite3_open (db, &raw), SQLITE_OK);
  assert_int_equal (sqlite3_exec (raw, "CREATE TABLE x (y)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (raw);
  assert_int_equal (store_open (db, PG_STORE_READONLY, &st, &err), -1);
  assert_non_null (strstr (err->msg, "not a patchgate database"));
  pg_error_release (&err);
  /* Not SQLite at all.  */
  {
    FILE *f = fopen (db, "w");
    fputs ("this is not a database, just text that is long enough to have a header", f);
    fclose (f);
  }
  assert_int_equal (store_open (db, PG_STORE_READONLY, &st, &err), -1);
  pg_error_release (&err);
}

static void
test_newer_schema_refused (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  pg_store *st = NULL;
  pg_error_t err = NULL;
  sqlite3 *raw;

  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  store_close (st);
  assert_int_equal (sqlite3_open (db, &raw), SQLITE_OK);
  assert_int_equal (sqlite3_exec (raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (raw);
  assert_int_equal (store_open (db, PG_STORE_READONLY, &st, &err), -1);
  assert_non_null (strstr (err->msg, "newer than this patchgate supports"));
  pg_error_release (&err);
  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), -1);
  pg_error_release (&err);
}

static void
test_rollback_leaves_nothing (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_store pg_store *st = NULL;
  pg_error_t err = NULL;
  struct pg_scan s;
  struct pg_store_status before, after;

  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  add (st, IMG, 1000000, "registry.example.com/app:1", 1);
  assert_int_equal (store_status (st, &before, &err), 0);
  make_scan (&s, IMG2, 5000000, "registry.example.com/app:2");
  assert_int_equal (store_begin (st, true, &err), 0);
  assert_int_equal (store_add_scan (st, &s, 5000000, &err), 1);
  assert_int_equal (store_set_policy (st, "{\"version\": \"x\"}", "x", 5000000, &err), 0);
  store_rollback (st);
  pg_scan_free (&s);
  assert_int_equal (store_status (st, &after, &err), 0);
  assert_int_equal (before.images, after.images);
  assert_int_equal (before.scans, after.scans);
  assert_int_equal (after.images, 1);
  {
    char *json = NULL;
    assert_int_equal (store_get_policy (st, &json, NULL, NULL, &err), 0);
    assert_null (json);
  }
}

static void
test_image_ref_parse (void **state)
{
  static const struct
  {
    const char *ref, *repo, *tag, *digest;
  } cases[] = {
    { "nginx", "docker.io/library/nginx", NULL, NULL },
    { "nginx:latest", "docker.io/library/nginx", "latest", NULL },
    { "clamav/clamav:1", "docker.io/clamav/clamav", "1", NULL },
    { "localhost:5000/app:2", "localhost:5000/app", "2", NULL },
    { "localhost/app", "localhost/app", NULL, NULL },
    { "registry.example.com/a/b@" IMG, "registry.example.com/a/b", NULL, IMG },
  };
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      cleanup_free char *repo = NULL;
      cleanup_free char *tag = NULL;
      cleanup_free char *digest = NULL;
      assert_int_equal (image_ref_parse (cases[i].ref, &repo, &tag, &digest), 0);
      assert_string_equal (repo, cases[i].repo);
      if (cases[i].tag)
        assert_string_equal (tag, cases[i].tag);
      else
        assert_null (tag);
      if (cases[i].digest)
        assert_string_equal (digest, cases[i].digest);
      else
        assert_null (digest);
    }
  assert_int_equal (image_ref_parse ("", NULL, NULL, NULL), -1);
  assert_int_equal (image_ref_parse ("a@sha256:zz", NULL, NULL, NULL), -1);
  assert_int_equal (image_ref_parse ("a:", NULL, NULL, NULL), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_lookup_by_every_digest),       cmocka_unit_test (test_newer_build),
    cmocka_unit_test (test_readonly_missing_and_foreign), cmocka_unit_test (test_newer_schema_refused),
    cmocka_unit_test (test_rollback_leaves_nothing),      cmocka_unit_test (test_image_ref_parse),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
