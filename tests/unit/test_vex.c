/* OpenVEX, data-driven: tests/unit/data/vex/<case>/ holds image/ (the
   scanner reports of the image: its findings), documents/ (OpenVEX
   documents, imported after the reports, in name order), an optional
   policy.json (default: every severity fixable at once, vex_max_age
   3650d) and expected.json:
     "image_reports": [more reports, relative to the repository root],
     "check": {"digest", "now"}: the identity decided for, and when,
     "import_error": a substring of the error that refuses the import (and
       then nothing else is checked but that nothing was recorded), or
     "import": {"statements", "images", "skipped"}: the import's VEX counts,
     "cleared": ["CVE in package", ...]: exactly the findings a statement
       clears,
     "not_cleared": [...]: findings no statement clears,
     "notes_contain": [substrings of check's notes (which statement decided,
       from which document)],
     "decision", "reasons": as patchgate check would say.
   Everything goes through the database and decide_image, as `patchgate
   check --digest` does.  */
#include "suite.h"
#include "import/import.h"
#include "rules/eval.h"
#include "rules/policy_cache.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/purl.h"

static const char default_policy[]
    = "{\"version\": \"vex-test\", \"defaults\": {\"fixable_grace\": {\"CRITICAL\": \"0s\", \"HIGH\": "
      "\"0s\", "
      "\"MEDIUM\": \"0s\", \"LOW\": \"0s\", \"NEGLIGIBLE\": \"0s\", \"UNKNOWN\": \"0s\"}, \"vex_max_age\": "
      "\"3650d\"}}";

static int64_t
time_of (json_t *obj, const char *key)
{
  int64_t t = 0;
  const char *s = pg_json_string (obj, key);
  if (s == NULL || parse_rfc3339 (s, &t) < 0)
    fail_msg ("bad time %s", key);
  return t;
}

/* "CVE-X in pkg" of a note "vex: CVE-X in pkg cleared: ...", or NULL.  */
static char *
cleared_key (const char *note)
{
  const char *end = strstr (note, " cleared: ");
  if (strncmp (note, "vex: ", 5) != 0 || end == NULL || strstr (note, " not cleared: ") == end - 4)
    return NULL;
  return strndup (note + 5, (size_t) (end - note - 5));
}

static bool
in_json_list (json_t *list, const char *s)
{
  size_t i;
  json_t *v;
  json_array_foreach (list, i, v)
    if (strcmp (json_string_value (v), s) == 0)
      return true;
  return false;
}

static void
check_import (const char *name, json_t *ej, const struct import_stats *s)
{
  json_t *imp = json_object_get (ej, "import");
  if (imp == NULL)
    return;
  if ((size_t) json_integer_value (json_object_get (imp, "statements")) != s->vex
      || (size_t) json_integer_value (json_object_get (imp, "images")) != s->vex_images
      || (size_t) json_integer_value (json_object_get (imp, "skipped")) != s->vex_skipped)
    fail_msg (
        "%s: import: expected %lld statements for %lld images, %lld skipped; got %zu for %zu, %zu skipped",
        name, (long long) json_integer_value (json_object_get (imp, "statements")),
        (long long) json_integer_value (json_object_get (imp, "images")),
        (long long) json_integer_value (json_object_get (imp, "skipped")), s->vex, s->vex_images,
        s->vex_skipped);
}

/* NOTE with the case's folder left out of the documents' paths:
   "app.vex.json statements[0]".  */
static char *
relative_note (const char *note, const char *dir)
{
  cleanup_free char *prefix = NULL;
  char *out = xstrdup (note), *p;
  xasprintf (&prefix, "%s/documents/", dir);
  while ((p = strstr (out, prefix)) != NULL)
    memmove (p, p + strlen (prefix), strlen (p + strlen (prefix)) + 1);
  return out;
}

static void
check_decision (const char *dir, const char *name, json_t *ej, struct pg_decision *d)
{
  json_t *cleared = json_object_get (ej, "cleared");
  json_t *v;
  size_t i, n_cleared = 0;

  for (i = 0; i < d->n_notes; i++)
    {
      char *rel = relative_note (d->notes[i], dir);
      free (d->notes[i]);
      d->notes[i] = rel;
    }
  for (i = 0; i < d->n_notes; i++)
    {
      cleanup_free char *key = cleared_key (d->notes[i]);
      if (key == NULL)
        continue;
      n_cleared++;
      if (cleared && !in_json_list (cleared, key))
        fail_msg ("%s: %s is cleared, and should not be (%s)", name, key, d->notes[i]);
      if (in_json_list (json_object_get (ej, "not_cleared"), key))
        fail_msg ("%s: %s is cleared: %s", name, key, d->notes[i]);
    }
  if (cleared && json_array_size (cleared) != n_cleared)
    {
      json_array_foreach (cleared, i, v)
        {
          bool found = false;
          for (size_t k = 0; k < d->n_notes && !found; k++)
            {
              cleanup_free char *key = cleared_key (d->notes[k]);
              found = key && strcmp (key, json_string_value (v)) == 0;
            }
          if (!found)
            fail_msg ("%s: %s is not cleared (%zu notes%s%s)", name, json_string_value (v), d->n_notes,
                      d->n_notes ? ", the first: " : "", d->n_notes ? d->notes[0] : "");
        }
      fail_msg ("%s: %zu findings cleared, expected %zu", name, n_cleared, json_array_size (cleared));
    }
  json_array_foreach (json_object_get (ej, "notes_contain"), i, v)
    {
      bool found = false;
      for (size_t k = 0; k < d->n_notes && !found; k++)
        found = strstr (d->notes[k], json_string_value (v)) != NULL;
      if (!found)
        fail_msg ("%s: no note mentions `%s`; notes: %s", name, json_string_value (v),
                  d->n_notes ? d->notes[0] : "(none)");
    }
  if (pg_json_string (ej, "decision")
      && strcmp (pg_json_string (ej, "decision"), verdict_name (d->verdict)) != 0)
    fail_msg ("%s: decision: expected %s, got %s", name, pg_json_string (ej, "decision"),
              verdict_name (d->verdict));
  if (json_object_get (ej, "reasons"))
    {
      json_t *reasons = json_object_get (ej, "reasons");
      if (json_array_size (reasons) != d->n_reasons)
        fail_msg ("%s: %zu reasons, expected %zu (first: %s)", name, d->n_reasons, json_array_size (reasons),
                  d->n_reasons ? d->reasons[0].code : "-");
      for (i = 0; i < d->n_reasons; i++)
        if (strcmp (json_string_value (json_array_get (reasons, i)), d->reasons[i].code) != 0)
          fail_msg ("%s: reasons[%zu]: expected %s, got %s", name, i,
                    json_string_value (json_array_get (reasons, i)), d->reasons[i].code);
    }
}

static void
run_case (const char *dir, const char *name)
{
  cleanup_json json_t *ej = suite_json (dir, "expected.json", true);
  cleanup_free char *policy_text = suite_text (dir, "policy.json");
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_store pg_store *st = NULL;
  cleanup_policy struct pg_policy *policy = NULL;
  const char *text = policy_text ? policy_text : default_policy;
  json_t *check = json_object_get (ej, "check");
  int64_t now = time_of (check, "now");
  struct import_result res;
  struct pg_context ctx = { 0 };
  struct pg_decision d;
  pg_error_t err = NULL;
  char **paths = NULL;
  size_t n_paths = 0, i;
  json_t *v;
  int r;

  json_array_foreach (json_object_get (ej, "image_reports"), i, v)
    {
      cleanup_free char *p = suite_path ("%s", json_string_value (v));
      strv_append (&paths, &n_paths, p);
    }
  {
    cleanup_free char *image = NULL;
    cleanup_free char *documents = NULL;
    xasprintf (&image, "%s/image", dir);
    xasprintf (&documents, "%s/documents", dir);
    if (access (image, F_OK) == 0)
      strv_append (&paths, &n_paths, image);
    strv_append (&paths, &n_paths, documents);
  }
  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  r = import_run (st, paths, n_paths, now, NULL, &res, &err);
  strv_free (paths, n_paths);
  if (pg_json_string (ej, "import_error"))
    {
      struct pg_store_status s;
      if (r == 0)
        fail_msg ("%s: the import should fail with `%s`", name, pg_json_string (ej, "import_error"));
      if (strstr (err->msg, pg_json_string (ej, "import_error")) == NULL)
        fail_msg ("%s: expected an error with `%s`, got `%s`", name, pg_json_string (ej, "import_error"),
                  err->msg);
      pg_error_release (&err);
      import_result_free (&res);
      /* One transaction: nothing of the run was kept.  */
      assert_int_equal (store_status (st, &s, &err), 0);
      assert_int_equal (s.scans, 0);
      return;
    }
  if (r < 0)
    fail_msg ("%s: import: %s", name, err->msg);
  check_import (name, ej, &res.stats);
  import_result_free (&res);

  if (policy_parse (text, strlen (text), name, &policy, &err) < 0)
    fail_msg ("%s: policy: %s", name, err->msg);
  assert_int_equal (store_begin (st, true, &err), 0);
  assert_int_equal (policy_store_set (st, text, policy->version, now, &err), 0);
  assert_int_equal (store_commit (st, &err), 0);
  ctx.digest = pg_json_string (check, "digest");
  ctx.container_id = "c1";
  ctx.policy_stale = PG_VERDICT_DENY;
  if (decide_image (st, &ctx, now, &d, &err) < 0)
    fail_msg ("%s: decide: %s", name, err->msg);
  check_decision (dir, name, ej, &d);
  pg_decision_free (&d);
}

static void
test_vex_case (void **state)
{
  const char *dir = *state;
  run_case (dir, strrchr (dir, '/') + 1);
}

/* Package URLs as scanners and VEX authors write them.  */
static void
test_purl_parse (void **state)
{
  static const struct
  {
    const char *in;
    const char *type, *namespace, *name, *version, *arch; /* type NULL: not a purl */
  } cases[] = {
    { "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&distro=debian-12.11&epoch=1", "deb", "debian", "zlib1g",
      "1:1.2.13.dfsg-1", "amd64" },
    { "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1", "deb", "debian", "zlib1g", "1:1.2.13.dfsg-1", NULL },
    { "pkg:deb/debian/libaom3@3.6.0-1%2Bdeb12u1?arch=amd64", "deb", "debian", "libaom3", "3.6.0-1+deb12u1",
      "amd64" },
    { "pkg:oci/"
      "alpine@sha256%3A124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126?repository_url="
      "index.docker.io%2Flibrary%2Falpine",
      "oci", NULL, "alpine", "sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126",
      NULL },
    { "PKG:APK/Alpine/LibSSL3@3.0.8-r3", "apk", "alpine", "libssl3", "3.0.8-r3", NULL },
    { "pkg:pypi/Django_Rest@3.1", "pypi", NULL, "django-rest", "3.1", NULL },
    { "pkg:golang/golang.org/x/net@v0.14.0", "golang", "golang.org/x", "net", "v0.14.0", NULL },
    { "pkg:npm/%40angular/core@16.0.0#subpath/x", "npm", "@angular", "core", "16.0.0", NULL },
    { "pkg://maven/org.apache/log4j-core@2.4/", "maven", "org.apache", "log4j-core", "2.4", NULL },
    { "pkg:apk/alpine/busybox?arch=", "apk", "alpine", "busybox", NULL, NULL },
    { "pkg:deb/debian/x%0Ay@1", NULL, NULL, NULL, NULL, NULL },
    { "pkg:deb/debian/x@1%zz", NULL, NULL, NULL, NULL, NULL },
    { "pkg:deb", NULL, NULL, NULL, NULL, NULL },
    { "pkg:/name", NULL, NULL, NULL, NULL, NULL },
    { "pkg:deb/", NULL, NULL, NULL, NULL, NULL },
    { "libssl3", NULL, NULL, NULL, NULL, NULL },
    { "cpe:2.3:a:openssl:openssl:3.0.8:*:*:*:*:*:*:*", NULL, NULL, NULL, NULL, NULL },
  };
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      struct pg_purl p;
      int r = purl_parse (cases[i].in, &p);
      if (cases[i].type == NULL)
        {
          if (r == 0)
            fail_msg ("`%s` parsed as a purl", cases[i].in);
          continue;
        }
      if (r < 0)
        fail_msg ("`%s` did not parse", cases[i].in);
#define SAME(field)                                                                                          \
  if (!((cases[i].field == NULL && p.field == NULL)                                                          \
        || (cases[i].field && p.field && strcmp (cases[i].field, p.field) == 0)))                            \
    fail_msg ("`%s`: " #field " %s, expected %s", cases[i].in, p.field ? p.field : "(none)",                 \
              cases[i].field ? cases[i].field : "(none)");
      SAME (type);
      SAME (namespace);
      SAME (name);
      SAME (version);
#undef SAME
      if (!((cases[i].arch == NULL && purl_qualifier (&p, "arch") == NULL)
            || (cases[i].arch && purl_qualifier (&p, "arch")
                && strcmp (cases[i].arch, purl_qualifier (&p, "arch")) == 0)))
        fail_msg ("`%s`: arch", cases[i].in);
      purl_clear (&p);
    }
}

int
main (void)
{
  cleanup_free char *root = suite_path ("tests/unit/data/vex");
  size_t n;
  char **cases = suite_cases (root, &n);
  struct CMUnitTest *tests = xmalloc0 ((n + 2) * sizeof (*tests));
  int ret;

  for (size_t i = 0; i < n; i++)
    {
      char *dir = NULL;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      tests[i] = (struct CMUnitTest){ .name = cases[i], .test_func = test_vex_case, .initial_state = dir };
    }
  tests[n] = (struct CMUnitTest){ .name = "purl_parse", .test_func = test_purl_parse };
  ret = _cmocka_run_group_tests ("vex", tests, n + 1, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free (tests[i].initial_state);
  free (tests);
  strv_free (cases, n);
  return ret;
}
