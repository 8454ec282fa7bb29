/* The parsed-policy cache (rules/policy_cache.h): a record rebuilds exactly
   the policy that parsing its text gives, for every policy the other suites
   use; a record for another text, or a damaged one, is never used; and
   decide_image's loader falls back to parsing whenever the record does not
   match the stored text.  "Exactly" is checked by encoding the rebuilt
   policy again: the two records must be byte for byte the same.  */
#include "suite.h"
#include "rules/policy_cache.h"
#include "base/file.h"

#include <sys/stat.h>

static char **policies; /* paths of every policy.json that parses */
static size_t n_policies;

static void
collect (const char *suite)
{
  cleanup_free char *root = suite_path ("%s", suite);
  size_t n;
  char **cases = suite_cases (root, &n);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *p = NULL;
      struct stat st;
      xasprintf (&p, "%s/%s/policy.json", root, cases[i]);
      if (stat (p, &st) == 0)
        strv_append (&policies, &n_policies, p);
    }
  strv_free (cases, n);
}

static void
test_roundtrip (void **state)
{
  size_t used = 0;
  for (size_t i = 0; i < n_policies; i++)
    {
      cleanup_free char *text = NULL;
      cleanup_free void *a = NULL;
      cleanup_free void *b = NULL;
      cleanup_policy struct pg_policy *p = NULL;
      cleanup_policy struct pg_policy *q = NULL;
      pg_error_t err = NULL;
      size_t la = 0, lb = 0, len = 0;

      assert_int_equal (read_all_file (policies[i], PG_MAX_POLICY_SIZE, &text, &len, &err), 0);
      if (policy_parse (text, len, policies[i], &p, &err) < 0)
        {
          pg_error_release (&err); /* the error cases of the policy suite */
          continue;
        }
      a = policy_cache_encode (p, text, len, &la);
      assert_non_null (a);
      if (policy_cache_decode (a, la, text, len, &q) != 1)
        fail_msg ("%s: its own record was refused", policies[i]);
      b = policy_cache_encode (q, text, len, &lb);
      if (la != lb || memcmp (a, b, la) != 0)
        fail_msg ("%s: the rebuilt policy differs from the parsed one", policies[i]);
      used++;
    }
  assert_true (used >= 10);
}

static void
test_refused (void **state)
{
  cleanup_free char *path = suite_path ("runtime-config/policy.example.json");
  cleanup_free char *text = NULL;
  cleanup_free unsigned char *blob = NULL;
  cleanup_policy struct pg_policy *p = NULL;
  struct pg_policy *q = NULL;
  pg_error_t err = NULL;
  size_t len = 0, n = 0;

  assert_int_equal (read_all_file (path, PG_MAX_POLICY_SIZE, &text, &len, &err), 0);
  assert_int_equal (policy_parse (text, len, "example", &p, &err), 0);
  blob = policy_cache_encode (p, text, len, &n);
  assert_non_null (blob);
  /* Another text (one byte changed, or shorter) */
  {
    char c = text[len - 2];
    text[len - 2] = c == ' ' ? '\n' : ' ';
    assert_int_equal (policy_cache_decode (blob, n, text, len, &q), 0);
    text[len - 2] = c;
  }
  assert_int_equal (policy_cache_decode (blob, n, text, len - 1, &q), 0);
  /* Truncated at every length, and every byte flipped in turn: refused or,
     where the flipped byte is inside a string or a number, a policy (never a
     crash; ASan/UBSan builds run this too).  */
  for (size_t cut = 0; cut < n; cut++)
    assert_int_equal (policy_cache_decode (blob, cut, text, len, &q), 0);
  for (size_t i = 0; i < n; i++)
    {
      blob[i] ^= 0x5a;
      if (policy_cache_decode (blob, n, text, len, &q) == 1)
        policy_free (q);
      q = NULL;
      blob[i] ^= 0x5a;
    }
  assert_int_equal (policy_cache_decode (blob, n, text, len, &q), 1);
  policy_free (q);
}

/* Through the store: set, load from the record; change the stored text
   behind the store's back, and the loader parses the new text.  */
static void
test_store (void **state)
{
  cleanup_free char *dir = xstrdup ("/tmp/pg-policy-cache-XXXXXX");
  cleanup_free char *db = NULL;
  cleanup_free char *path = suite_path ("runtime-config/policy.example.json");
  cleanup_free char *text = NULL;
  cleanup_free void *want = NULL;
  cleanup_free void *got = NULL;
  cleanup_free void *got2 = NULL;
  cleanup_policy struct pg_policy *p = NULL;
  cleanup_policy struct pg_policy *q = NULL;
  cleanup_policy struct pg_policy *r = NULL;
  pg_store *store = NULL;
  pg_error_t err = NULL;
  size_t len = 0, lw = 0, lg = 0, lg2 = 0;

  assert_non_null (mkdtemp (dir));
  xasprintf (&db, "%s/policy.db", dir);
  assert_int_equal (read_all_file (path, PG_MAX_POLICY_SIZE, &text, &len, &err), 0);
  assert_int_equal (policy_parse (text, len, "example", &p, &err), 0);
  want = policy_cache_encode (p, text, len, &lw);

  assert_int_equal (store_open (db, PG_STORE_CREATE, &store, &err), 0);
  assert_int_equal (store_begin (store, true, &err), 0);
  assert_int_equal (policy_store_set (store, text, p->version, 1000, &err), 0);
  assert_int_equal (store_commit (store, &err), 0);
  assert_int_equal (policy_load_cached (store, &q, &err), 0);
  got = policy_cache_encode (q, text, len, &lg);
  assert_int_equal (lg, lw);
  assert_memory_equal (got, want, lw);

  assert_int_equal (sqlite3_exec (store_db (store),
                                  "UPDATE policy SET body = replace(body, '\"max_scan_age\": \"7d\"', "
                                  "'\"max_scan_age\": \"9d\"')",
                                  NULL, NULL, NULL),
                    SQLITE_OK);
  assert_int_equal (policy_load_cached (store, &r, &err), 0);
  assert_int_equal (r->defaults.max_scan_age, 9 * 86400);
  got2 = policy_cache_encode (r, text, len, &lg2);
  assert_true (lg2 != lw || memcmp (got2, want, lw) != 0);
  store_close (store);
  unlink (db);
  rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_roundtrip),
    cmocka_unit_test (test_refused),
    cmocka_unit_test (test_store),
  };
  cleanup_free char *example = suite_path ("runtime-config/policy.example.json");
  int ret;

  strv_append (&policies, &n_policies, example);
  collect ("tests/unit/data/policy");
  collect ("tests/unit/data/eval");
  ret = cmocka_run_group_tests (tests, NULL, NULL);
  strv_free (policies, n_policies);
  return ret;
}
