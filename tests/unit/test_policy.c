/* Data-driven policy parsing suite: tests/unit/data/policy/<case>/ holds
   policy.json and either `error` (a substring the message must contain: the
   field and the problem) or expected.json ({"version", "scopes", "waivers",
   "min_versions", "max_scan_age": seconds, "on_unidentified"}).  */
#include "suite.h"
#include "rules/policy.h"
#include "base/json.h"
#include "base/clock.h"

static void
test_policy_case (void **state)
{
  const char *dir = *state;
  cleanup_free char *text = suite_text (dir, "policy.json");
  cleanup_free char *expected_error = suite_text (dir, "error");
  cleanup_json json_t *expected = suite_json (dir, "expected.json", false);
  cleanup_policy struct pg_policy *p = NULL;
  pg_error_t err = NULL;
  int r;

  assert_non_null (text);
  r = policy_parse (text, strlen (text), "policy.json", &p, &err);
  if (expected_error)
    {
      if (r == 0)
        fail_msg ("%s: expected error `%s`, but the policy parsed", dir, expected_error);
      if (strstr (err->msg, expected_error) == NULL)
        fail_msg ("%s: expected error containing `%s`, got `%s`", dir, expected_error, err->msg);
      pg_error_release (&err);
      return;
    }
  if (r < 0)
    fail_msg ("%s: unexpected error: %s", dir, err->msg);
  assert_non_null (expected);
  assert_string_equal (p->version, pg_json_string (expected, "version"));
  if (json_object_get (expected, "scopes"))
    assert_int_equal (p->n_scopes, json_integer_value (json_object_get (expected, "scopes")));
  if (json_object_get (expected, "waivers"))
    assert_int_equal (p->n_waivers, json_integer_value (json_object_get (expected, "waivers")));
  if (json_object_get (expected, "min_versions"))
    assert_int_equal (p->n_min_versions, json_integer_value (json_object_get (expected, "min_versions")));
  if (json_object_get (expected, "max_scan_age"))
    assert_int_equal (p->defaults.max_scan_age,
                      json_integer_value (json_object_get (expected, "max_scan_age")));
  if (pg_json_string (expected, "on_unidentified"))
    assert_string_equal (verdict_name (p->on_unidentified), pg_json_string (expected, "on_unidentified"));
}

static void
test_durations (void **state)
{
  static const struct
  {
    const char *text;
    int64_t secs; /* -1: invalid */
  } cases[] = {
    { "7d", 7 * 86400 }, { "12h", 12 * 3600 }, { "30m", 1800 },
    { "45s", 45 },       { "2w", 14 * 86400 }, { "1d12h", 36 * 3600 },
    { "0s", 0 },         { "", -1 },           { "7", -1 },
    { "d", -1 },         { "7x", -1 },         { "-1d", -1 },
    { "1.5d", -1 },      { "7d ", -1 },        { "99999999999999999999d", -1 },
    { "40000d", -1 },
  };
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      int64_t v = -1;
      int r = parse_duration (cases[i].text, &v);
      if (cases[i].secs < 0)
        {
          if (r == 0)
            fail_msg ("duration `%s` should be invalid, got %lld", cases[i].text, (long long) v);
        }
      else if (r < 0 || v != cases[i].secs)
        fail_msg ("duration `%s`: expected %lld, got %lld (r=%d)", cases[i].text, (long long) cases[i].secs,
                  (long long) v, r);
    }
}

static void
test_rfc3339 (void **state)
{
  static const struct
  {
    const char *text;
    int64_t t; /* INT64_MIN: invalid */
  } cases[] = {
    { "1970-01-01T00:00:00Z", 0 },
    { "2025-06-08T16:39:25.944876845Z", 1749400765 },
    { "2026-11-22T12:00:00+01:00", 1795345200 },
    { "2026-11-22T12:00:00-00:30", 1795350600 },
    { "2024-02-29T00:00:00Z", 1709164800 },
    { "2023-02-29T00:00:00Z", INT64_MIN },
    { "2026-11-22", INT64_MIN },
    { "2026-11-22T12:00:00", INT64_MIN },
    { "2026-13-01T00:00:00Z", INT64_MIN },
    { "2026-11-22T12:00:00Zjunk", INT64_MIN },
  };
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      int64_t t = 0;
      int r = parse_rfc3339 (cases[i].text, &t);
      if (cases[i].t == INT64_MIN)
        {
          if (r == 0)
            fail_msg ("`%s` should be invalid", cases[i].text);
        }
      else if (r < 0 || t != cases[i].t)
        fail_msg ("`%s`: expected %lld, got %lld", cases[i].text, (long long) cases[i].t, (long long) t);
    }
}

static void
test_json_limits (void **state)
{
  pg_error_t err = NULL;
  json_t *j = NULL;
  char deep[200];
  const char nul[] = "{\"a\": \"x\\u0000y\"}";

  memset (deep, '[', 100);
  memset (deep + 100, ']', 100);
  assert_int_equal (pg_json_parse (deep, sizeof (deep), "deep", &j, &err), -1);
  assert_non_null (strstr (err->msg, "nested deeper"));
  pg_error_release (&err);
  assert_int_equal (pg_json_parse (nul, strlen (nul), "nul", &j, &err), -1);
  pg_error_release (&err);
}

int
main (void)
{
  cleanup_free char *root = suite_path ("tests/unit/data/policy");
  size_t n;
  char **cases = suite_cases (root, &n);
  struct CMUnitTest *tests = xmalloc0 ((n + 3) * sizeof (*tests));
  int ret;

  for (size_t i = 0; i < n; i++)
    {
      char *dir = NULL;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      tests[i] = (struct CMUnitTest){ .name = cases[i], .test_func = test_policy_case, .initial_state = dir };
    }
  tests[n] = (struct CMUnitTest){ .name = "durations", .test_func = test_durations };
  tests[n + 1] = (struct CMUnitTest){ .name = "rfc3339", .test_func = test_rfc3339 };
  tests[n + 2] = (struct CMUnitTest){ .name = "json_limits", .test_func = test_json_limits };
  ret = _cmocka_run_group_tests ("policy", tests, n + 3, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free (tests[i].initial_state);
  free (tests);
  strv_free (cases, n);
  return ret;
}
