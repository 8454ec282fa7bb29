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
      /* Every identity, for revocations and waivers by digest.  */
      assert_int_equal (rec.n_digests, 3);
      assert_string_equal (rec.digests[0], IMG);
      assert_string_equal (rec.digests[1], MAN);
      assert_string_equal (rec.digests[2], REPO);
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

/* ---- when a fix became known, and two scanners' entries for a finding ---- */

struct fix_scan
{
  const char *scanner;
  int64_t at;
  enum pg_severity severity;
  const char *fixed; /* NULL: no fix named */
  const char *status;
  int64_t fix_date; /* the report's own date for the fix, 0: none */
  const char *kind;
};

static void
add_fix_scan (pg_store *st, const struct fix_scan *f)
{
  struct pg_vuln v = { .id = "CVE-1",
                       .pkg = "curl",
                       .installed = "1",
                       .fixed = (char *) f->fixed,
                       .severity = f->severity,
                       .status = (char *) f->status,
                       .fix_date = f->fix_date,
                       .fix_date_kind = (char *) f->kind };
  struct pg_scan s = { 0 };
  pg_error_t err = NULL;

  s.scanner = xstrdup (f->scanner);
  s.scanned_at = f->at;
  s.image_id = xstrdup (IMG);
  pg_scan_add_vuln (&s, &v);
  assert_int_equal (store_begin (st, true, &err), 0);
  assert_int_equal (store_add_scan (st, &s, f->at + 10, &err), 1);
  assert_int_equal (store_commit (st, &err), 0);
  pg_scan_free (&s);
}

/* Each case: its scans, imported in the order given and then in reverse
   (the result must be the same), and what the loaded finding says.  */
static void
test_fix_known_since (void **state)
{
  static const struct
  {
    const char *name;
    struct fix_scan scans[3];
    int64_t since;
    const char *source; /* a substring */
    enum pg_severity severity;
    const char *fixed;
  } cases[] = {
    { "no date: the first scan that listed the fix",
      { { "trivy", 5000, PG_SEV_HIGH, "2", "fixed", 0, NULL },
        { "trivy", 9000, PG_SEV_HIGH, "2", "fixed", 0, NULL } },
      5000,
      "when an imported scan first listed it",
      PG_SEV_HIGH,
      "2" },
    { "a date before the first scan: the date",
      { { "grype", 500000, PG_SEV_HIGH, "2", "fixed", 86400, "advisory" } },
      86400,
      "per the scanner's fix date (advisory)",
      PG_SEV_HIGH,
      "2" },
    { "a date after the first scan: the scan",
      { { "grype", 500000, PG_SEV_HIGH, "2", "fixed", 7 * 86400, "advisory" } },
      500000,
      "when an imported scan first listed it",
      PG_SEV_HIGH,
      "2" },
    { "a later report's earlier date: the date, whatever the import order",
      { { "trivy", 500000, PG_SEV_HIGH, "2", "fixed", 0, NULL },
        { "grype", 900000, PG_SEV_HIGH, "2", "fixed", 86400, "first-observed" } },
      86400,
      "per the scanner's fix date (first-observed)",
      PG_SEV_HIGH,
      "2" },
    { "two dates: the earliest, with its kind",
      { { "grype", 500000, PG_SEV_HIGH, "2", "fixed", 3 * 86400, "advisory" },
        { "grype", 900000, PG_SEV_HIGH, "2", "fixed", 2 * 86400, "release" } },
      2 * 86400,
      "per the scanner's fix date (release)",
      PG_SEV_HIGH,
      "2" },
    { "a date without a kind",
      { { "grype", 500000, PG_SEV_HIGH, "2", "fixed", 86400, NULL } },
      86400,
      "per the scanner's fix date",
      PG_SEV_HIGH,
      "2" },
    /* Records load the scanners in name order (grype first): the rule, not
       that order, must decide.  */
    { "two scanners disagree on the severity: the higher",
      { { "trivy", 500000, PG_SEV_CRITICAL, "2", "fixed", 0, NULL },
        { "grype", 500001, PG_SEV_MEDIUM, "2", "fixed", 0, NULL } },
      500000,
      "first listed",
      PG_SEV_CRITICAL,
      "2" },
    { "one scanner names a fix, the other wont-fix: fixable",
      { { "trivy", 500000, PG_SEV_HIGH, "2", "fixed", 0, NULL },
        { "grype", 500001, PG_SEV_LOW, NULL, "wont-fix", 0, NULL } },
      500000,
      "first listed",
      PG_SEV_HIGH,
      "2" },
  };

  for (size_t c = 0; c < sizeof (cases) / sizeof (cases[0]); c++)
    for (int reverse = 0; reverse < 2; reverse++)
      {
        cleanup_free char *db = suite_temp_db ();
        cleanup_store pg_store *st = NULL;
        pg_error_t err = NULL;
        struct pg_image_record rec;
        size_t n = 0;

        while (n < 3 && cases[c].scans[n].scanner)
          n++;
        assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
        for (size_t i = 0; i < n; i++)
          add_fix_scan (st, &cases[c].scans[reverse ? n - 1 - i : i]);
        assert_int_equal (store_lookup_digest (st, IMG, &rec, &err), 1);
        if (rec.n_vulns != 1)
          fail_msg ("%s: %zu findings loaded", cases[c].name, rec.n_vulns);
        if (rec.vulns[0].fix_known_since != cases[c].since
            || strstr (rec.vulns[0].fix_known_source ? rec.vulns[0].fix_known_source : "", cases[c].source)
                   == NULL)
          fail_msg ("%s%s: known since %lld (%s), expected %lld (%s)", cases[c].name,
                    reverse ? " (reversed)" : "", (long long) rec.vulns[0].fix_known_since,
                    rec.vulns[0].fix_known_source, (long long) cases[c].since, cases[c].source);
        if (rec.vulns[0].severity != cases[c].severity || rec.vulns[0].fixed == NULL
            || strcmp (rec.vulns[0].fixed, cases[c].fixed) != 0)
          fail_msg ("%s%s: severity %s, fixed %s", cases[c].name, reverse ? " (reversed)" : "",
                    severity_name (rec.vulns[0].severity), rec.vulns[0].fixed);
        pg_image_record_free (&rec);
        store_close (st);
        st = NULL;
        unlink (db);
      }
}

/* A database of schema 2 (before fix dates and remedies, with OpenVEX kept
   as one row per digest and vulnerability) is migrated, and what it held
   still loads: its VEX statements, and its fixes with the grace clock
   counted again from the first scan where the finding was fixable.  */
/* Every trigger of the change log (schema 4 -> 5, store.c).  */
#define CHANGES_LOG_DROPS                                                                                    \
  "DROP TRIGGER changes_images_ins; DROP TRIGGER changes_images_upd; DROP TRIGGER changes_digests; DROP "    \
  "TRIGGER changes_names_ins; DROP TRIGGER changes_names_upd; DROP TRIGGER changes_scans; DROP TRIGGER "     \
  "changes_fixes; DROP TRIGGER changes_vex_ins; DROP TRIGGER changes_vex_repo; DROP TRIGGER "                \
  "changes_vex_upd; DROP TRIGGER changes_policy_ins; DROP TRIGGER changes_policy_upd; DROP TRIGGER "         \
  "changes_images_del; DROP TRIGGER changes_digests_del; DROP TRIGGER changes_names_del; DROP TRIGGER "      \
  "changes_scans_del; DROP TRIGGER changes_vulns_ins; DROP TRIGGER changes_packages_ins; DROP TRIGGER "      \
  "changes_vulns; DROP TRIGGER changes_vulns_upd; DROP TRIGGER changes_packages; DROP TRIGGER "              \
  "changes_packages_upd; DROP TRIGGER changes_scans_upd; DROP TRIGGER changes_fixes_del; DROP TRIGGER "      \
  "changes_vex_del; DROP TRIGGER changes_policy_del; "

static void
test_migrate_from_schema_2 (void **state)
{
  cleanup_free char *db = suite_temp_db ();
  pg_store *st = NULL;
  pg_error_t err = NULL;
  struct pg_image_record rec;
  sqlite3 *raw;

  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  add (st, IMG, 1000000, "registry.example.com/app:1", 1);
  store_close (st);
  /* Back to schema 2: the columns and tables 2 -> 4 added gone; a fix
     clock started (as schema 3 did) by a scan where it was no fix.  */
  assert_int_equal (sqlite3_open (db, &raw), SQLITE_OK);
  assert_int_equal (
      sqlite3_exec (raw,
                    /* Schema 4 -> 5's change log first: its triggers name columns.  */
                    "" CHANGES_LOG_DROPS "DROP TABLE changes; "
                    "ALTER TABLE vulns DROP COLUMN remedy; ALTER TABLE fixes DROP COLUMN fix_date; "
                    "ALTER TABLE fixes DROP COLUMN fix_date_kind; ALTER TABLE vulns DROP COLUMN purl; DROP "
                    "TABLE purls; "
                    "DROP TABLE vex_statements; "
                    "CREATE TABLE vex (digest TEXT NOT NULL, vuln_id TEXT NOT NULL, status TEXT NOT NULL,"
                    " issued INTEGER NOT NULL, source TEXT, PRIMARY KEY (digest, vuln_id)) WITHOUT ROWID; "
                    "INSERT INTO vex VALUES ('" REPO "', 'CVE-1', 'not_affected', 900000, 'old.vex.json'); "
                    "UPDATE fixes SET first_seen = 1; PRAGMA user_version = 2",
                    NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close (raw);
  /* The hook never migrates: it refuses.  */
  assert_int_equal (store_open (db, PG_STORE_READONLY, &st, &err), -1);
  pg_error_release (&err);
  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  assert_int_equal (store_lookup_digest (st, IMG, &rec, &err), 1);
  assert_int_equal (rec.n_vulns, 1);
  assert_string_equal (rec.vulns[0].fixed, "2");
  assert_null (rec.vulns[0].remedy);
  assert_null (rec.vulns[0].purl);
  assert_int_equal (rec.vulns[0].fix_known_since, 1000000);
  assert_int_equal (rec.n_vex, 1);
  assert_string_equal (rec.vex[0].vuln_id, "CVE-1");
  assert_string_equal (rec.vex[0].digest, REPO);
  assert_string_equal (rec.vex[0].status, "not_affected");
  assert_int_equal (rec.vex[0].issued, 900000);
  assert_string_equal (rec.vex[0].source, "old.vex.json");
  pg_image_record_free (&rec);
  store_close (st);
  assert_int_equal (store_open (db, PG_STORE_READONLY, &st, &err), 0);
  store_close (st);
}

static void
test_fixed_union (void **state)
{
  static const char *const cases[][3] = {
    { NULL, NULL, NULL },          { "1.2", NULL, "1.2" },
    { NULL, "1.2", "1.2" },        { "4.0.10, 3.2.12", "3.2.12", "3.2.12, 4.0.10" },
    { "b, a", "c, a", "a, b, c" },
  };
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      cleanup_free char *u = pg_fixed_union (cases[i][0], cases[i][1]);
      cleanup_free char *r = pg_fixed_union (cases[i][1], cases[i][0]);
      if (cases[i][2] == NULL)
        {
          assert_null (u);
          assert_null (r);
          continue;
        }
      assert_string_equal (u, cases[i][2]);
      assert_string_equal (r, cases[i][2]);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_lookup_by_every_digest),
    cmocka_unit_test (test_newer_build),
    cmocka_unit_test (test_readonly_missing_and_foreign),
    cmocka_unit_test (test_newer_schema_refused),
    cmocka_unit_test (test_rollback_leaves_nothing),
    cmocka_unit_test (test_image_ref_parse),
    cmocka_unit_test (test_fix_known_since),
    cmocka_unit_test (test_migrate_from_schema_2),
    cmocka_unit_test (test_fixed_union),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
