/* Data-driven evaluation suite: tests/unit/data/eval/<case>/ holds
   policy.json, image.json (absent: the image is not in the database),
   context.json ({"now", "digest", "namespace", "image_ref", "conflict",
   "max_policy_age", "policy_stale"}), optional facts.json ({"newer":
   {"digest", "name", "since"}, "bases": [{"digest", "diff_ids"}],
   "bundle_created", "bundle_serial"}) and expected.json ({"decision",
   "reasons": [codes in order], optional "scope", "mode", "waivers_applied",
   "waivers_expired", "detail_contains": {code: substring}, "log_contains":
   [substrings of the syslog line], "notes_contain": [substrings of a
   note]}).  image.json may list "repo_digests" (the database's other
   digests of the image) and OpenVEX statements as "vex": [{"id",
   "aliases", "status", "issued", "digest" (default: the image ID) or
   "repository" and "tag", "subcomponents", "source", "index"}]; its vulns
   hold pg_vuln's fields (purl, fix_known_since in RFC 3339,
   fix_known_source, remedy).  A case with a reports/ folder decides from a
   database made of those reports instead (decide_from_reports).  */
#include "suite.h"
#include "rules/eval.h"
#include "rules/policy_cache.h"
#include "import/import.h"
#include "report/report.h"
#include "base/logfmt.h"
#include "base/json.h"
#include "base/clock.h"

#include <sys/stat.h>

static int64_t
time_field (json_t *obj, const char *key)
{
  int64_t t = 0;
  const char *s = pg_json_string (obj, key);
  if (s && parse_rfc3339 (s, &t) < 0)
    fail_msg ("bad time %s=%s", key, s);
  return t;
}

static void
strv_from_json (json_t *arr, char ***v, size_t *n)
{
  size_t i;
  json_t *e;
  json_array_foreach (arr, i, e)
    strv_append (v, n, json_string_value (e));
}

static void
record_from_json (json_t *j, struct pg_image_record *rec)
{
  json_t *scan = json_object_get (j, "scan");
  json_t *e;
  size_t i;

  memset (rec, 0, sizeof (*rec));
  rec->rowid = 1;
  rec->image_id = xstrdup (pg_json_string (j, "image_id"));
  rec->manifest_digest = xstrdup (pg_json_string (j, "manifest_digest"));
  /* Every digest the database knows for the image, as the store loads
     them: the image ID, the manifest digest and "repo_digests".  */
  if (rec->image_id)
    strv_append (&rec->digests, &rec->n_digests, rec->image_id);
  if (rec->manifest_digest)
    strv_append (&rec->digests, &rec->n_digests, rec->manifest_digest);
  strv_from_json (json_object_get (j, "repo_digests"), &rec->digests, &rec->n_digests);
  strv_from_json (json_object_get (j, "repositories"), &rec->repositories, &rec->n_repositories);
  strv_from_json (json_object_get (j, "repo_tags"), &rec->repo_tags, &rec->n_repo_tags);
  strv_from_json (json_object_get (j, "diff_ids"), &rec->diff_ids, &rec->n_diff_ids);
  rec->created = time_field (j, "created");
  rec->first_seen = time_field (j, "first_seen");
  if (scan == NULL)
    return;
  rec->has_scan = true;
  rec->scanned_at = time_field (scan, "scanned_at");
  rec->scanner = xstrdup ("trivy");
  rec->os_family = xstrdup (pg_json_string (scan, "os_family"));
  rec->os_name = xstrdup (pg_json_string (scan, "os_name"));
  rec->eosl = json_is_true (json_object_get (scan, "eosl"));
  json_array_foreach (json_object_get (scan, "vulns"), i, e)
    {
      struct pg_vuln *v;
      rec->vulns = xrealloc (rec->vulns, (rec->n_vulns + 1) * sizeof (*v));
      v = &rec->vulns[rec->n_vulns++];
      memset (v, 0, sizeof (*v));
      v->id = xstrdup (pg_json_string (e, "id"));
      v->pkg = xstrdup (pg_json_string (e, "pkg"));
      v->purl = xstrdup (pg_json_string (e, "purl"));
      v->installed = xstrdup (pg_json_string (e, "installed"));
      v->fixed = xstrdup (pg_json_string (e, "fixed"));
      v->severity = severity_parse (pg_json_string (e, "severity"));
      v->status = xstrdup (pg_json_string (e, "status"));
      v->fix_known_since = time_field (e, "fix_known_since");
      v->fix_known_source = xstrdup (pg_json_string (e, "fix_known_source"));
      v->remedy = xstrdup (pg_json_string (e, "remedy"));
    }
  json_array_foreach (json_object_get (j, "vex"), i, e)
    {
      struct pg_vex *x;
      rec->vex = xrealloc (rec->vex, (rec->n_vex + 1) * sizeof (*x));
      x = &rec->vex[rec->n_vex++];
      memset (x, 0, sizeof (*x));
      x->vuln_id = xstrdup (pg_json_string (e, "id"));
      strv_from_json (json_object_get (e, "aliases"), &x->aliases, &x->n_aliases);
      x->status = xstrdup (pg_json_string (e, "status"));
      x->issued = time_field (e, "issued");
      /* The product: a digest (by default the image ID), or a repository
         and tag.  */
      x->repository = xstrdup (pg_json_string (e, "repository"));
      x->tag = xstrdup (pg_json_string (e, "tag"));
      x->digest = xstrdup (pg_json_string (e, "digest"));
      if (x->digest == NULL && x->repository == NULL)
        x->digest = xstrdup (rec->image_id);
      strv_from_json (json_object_get (e, "subcomponents"), &x->subcomponents, &x->n_subcomponents);
      x->source = xstrdup (pg_json_string (e, "source"));
      x->document = xstrdup (pg_json_string (e, "document"));
      x->index = (size_t) json_integer_value (json_object_get (e, "index"));
    }
  json_array_foreach (json_object_get (scan, "packages"), i, e)
    {
      struct pg_package *p;
      rec->packages = xrealloc (rec->packages, (rec->n_packages + 1) * sizeof (*p));
      p = &rec->packages[rec->n_packages++];
      p->name = xstrdup (pg_json_string (e, "name"));
      p->version = xstrdup (pg_json_string (e, "version"));
    }
}

static void
facts_from_json (json_t *j, struct pg_eval_facts *x)
{
  json_t *newer = json_object_get (j, "newer");
  json_t *b;
  size_t i;

  if (newer)
    {
      x->newer_digest = xstrdup (pg_json_string (newer, "digest"));
      x->newer_name = xstrdup (pg_json_string (newer, "name"));
      x->newer_since = time_field (newer, "since");
    }
  json_array_foreach (json_object_get (j, "bases"), i, b)
    {
      x->bases = xrealloc (x->bases, (x->n_bases + 1) * sizeof (*x->bases));
      memset (&x->bases[x->n_bases], 0, sizeof (x->bases[0]));
      x->bases[x->n_bases].digest = xstrdup (pg_json_string (b, "digest"));
      strv_from_json (json_object_get (b, "diff_ids"), &x->bases[x->n_bases].diff_ids,
                      &x->bases[x->n_bases].n_diff_ids);
      x->n_bases++;
    }
  x->bundle_created = time_field (j, "bundle_created");
  x->bundle_serial = json_integer_value (json_object_get (j, "bundle_serial"));
}

static void
expect_list (const char *name, const char *what, json_t *expected, char **got, size_t n)
{
  if (expected == NULL)
    return;
  if (json_array_size (expected) != n)
    fail_msg ("%s: %s: expected %zu, got %zu", name, what, json_array_size (expected), n);
  for (size_t i = 0; i < n; i++)
    if (strcmp (json_string_value (json_array_get (expected, i)), got[i]) != 0)
      fail_msg ("%s: %s[%zu]: expected %s, got %s", name, what, i,
                json_string_value (json_array_get (expected, i)), got[i]);
}

/* A case with a reports/ folder decides through the database, as `patchgate
   check` does: the reports (Trivy, Grype, OpenVEX) imported into a fresh
   database at context.json's "imported_at" (else "now"), the policy set,
   then decide_image.  */
static void
decide_from_reports (const char *dir, const char *name, json_t *cj, const struct pg_context *ctx, int64_t now,
                     struct pg_decision *d)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_store pg_store *st = NULL;
  cleanup_free char *reports = NULL;
  cleanup_free char *text = suite_text (dir, "policy.json");
  cleanup_policy struct pg_policy *policy = NULL;
  int64_t imported = pg_json_string (cj, "imported_at") ? time_field (cj, "imported_at") : now;
  pg_error_t err = NULL;
  char *paths[1];

  xasprintf (&reports, "%s/reports", dir);
  paths[0] = reports;
  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  if (import_paths (st, paths, 1, imported, NULL, &err) < 0)
    fail_msg ("%s: import: %s", name, err->msg);
  if (policy_parse (text, strlen (text), name, &policy, &err) < 0)
    fail_msg ("%s: policy: %s", name, err->msg);
  assert_int_equal (store_begin (st, true, &err), 0);
  assert_int_equal (policy_store_set (st, text, policy->version, imported, &err), 0);
  assert_int_equal (store_commit (st, &err), 0);
  if (decide_image (st, ctx, now, d, &err) < 0)
    fail_msg ("%s: decide: %s", name, err->msg);
}

static bool
has_dir (const char *dir, const char *sub)
{
  cleanup_free char *path = NULL;
  struct stat sb;
  xasprintf (&path, "%s/%s", dir, sub);
  return stat (path, &sb) == 0 && S_ISDIR (sb.st_mode);
}

static void
run_case (const char *dir, const char *name)
{
  cleanup_json json_t *pj = suite_json (dir, "policy.json", true);
  cleanup_json json_t *ij = suite_json (dir, "image.json", false);
  cleanup_json json_t *cj = suite_json (dir, "context.json", true);
  cleanup_json json_t *xj = suite_json (dir, "facts.json", false);
  cleanup_json json_t *ej = suite_json (dir, "expected.json", true);
  cleanup_policy struct pg_policy *policy = NULL;
  struct pg_image_record rec;
  struct pg_eval_facts facts = { 0 };
  struct pg_context ctx = { 0 };
  struct pg_decision d;
  pg_error_t err = NULL;
  char **codes = NULL;
  size_t n_codes = 0;
  json_t *contains;
  const char *key;
  json_t *val;
  size_t li;

  if (policy_parse_json (pj, name, &policy, &err) < 0)
    fail_msg ("%s: policy: %s", name, err->msg);
  if (ij)
    record_from_json (ij, &rec);
  if (xj)
    facts_from_json (xj, &facts);
  ctx.digest = pg_json_string (cj, "digest");
  ctx.namespace = pg_json_string (cj, "namespace");
  ctx.image_ref = pg_json_string (cj, "image_ref");
  ctx.conflict = pg_json_string (cj, "conflict");
  ctx.container_id = "c1";
  ctx.policy_stale = PG_VERDICT_DENY;
  if (pg_json_string (cj, "max_policy_age")
      && parse_duration (pg_json_string (cj, "max_policy_age"), &ctx.max_policy_age) < 0)
    fail_msg ("%s: bad max_policy_age", name);
  if (pg_json_string (cj, "policy_stale"))
    ctx.policy_stale = strcmp (pg_json_string (cj, "policy_stale"), "allow") == 0   ? PG_VERDICT_ALLOW
                       : strcmp (pg_json_string (cj, "policy_stale"), "audit") == 0 ? PG_VERDICT_AUDIT
                                                                                    : PG_VERDICT_DENY;
  if (has_dir (dir, "reports"))
    decide_from_reports (dir, name, cj, &ctx, time_field (cj, "now"), &d);
  else
    assert_int_equal (eval_image (policy, ij ? &rec : NULL, &facts, &ctx, time_field (cj, "now"), &d, &err),
                      0);

  if (strcmp (pg_json_string (ej, "decision"), verdict_name (d.verdict)) != 0)
    fail_msg ("%s: decision: expected %s, got %s", name, pg_json_string (ej, "decision"),
              verdict_name (d.verdict));
  for (size_t i = 0; i < d.n_reasons; i++)
    strv_append (&codes, &n_codes, d.reasons[i].code);
  expect_list (name, "reasons", json_object_get (ej, "reasons"), codes, n_codes);
  expect_list (name, "waivers_applied", json_object_get (ej, "waivers_applied"), d.waivers_applied,
               d.n_waivers_applied);
  expect_list (name, "waivers_expired", json_object_get (ej, "waivers_expired"), d.waivers_expired,
               d.n_waivers_expired);
  if (pg_json_string (ej, "scope") && strcmp (pg_json_string (ej, "scope"), d.scope) != 0)
    fail_msg ("%s: scope: expected %s, got %s", name, pg_json_string (ej, "scope"), d.scope);
  if (pg_json_string (ej, "mode") && strcmp (pg_json_string (ej, "mode"), mode_name (d.mode)) != 0)
    fail_msg ("%s: mode: expected %s, got %s", name, pg_json_string (ej, "mode"), mode_name (d.mode));
  json_array_foreach (json_object_get (ej, "notes_contain"), li, val)
    {
      bool found = false;
      for (size_t i = 0; i < d.n_notes && !found; i++)
        found = strstr (d.notes[i], json_string_value (val)) != NULL;
      if (!found)
        fail_msg ("%s: no note mentions `%s`", name, json_string_value (val));
    }
  contains = json_object_get (ej, "detail_contains");
  json_object_foreach (contains, key, val)
    {
      bool found = false;
      for (size_t i = 0; i < d.n_reasons; i++)
        if (strcmp (d.reasons[i].code, key) == 0
            && (strstr (d.reasons[i].detail, json_string_value (val))
                || strstr (d.reasons[i].remedy, json_string_value (val))))
          found = true;
      if (!found)
        fail_msg ("%s: no %s reason mentions `%s`", name, key, json_string_value (val));
    }
  {
    /* The line the hook would log, from the same renderer.  */
    cleanup_free char *line = report_logfmt (&d, &ctx);
    json_array_foreach (json_object_get (ej, "log_contains"), li, val)
      {
        if (strstr (line, json_string_value (val)) == NULL)
          fail_msg ("%s: the log line lacks `%s`: %s", name, json_string_value (val), line);
      }
  }
  strv_free (codes, n_codes);
  pg_decision_free (&d);
  if (ij)
    pg_image_record_free (&rec);
  pg_eval_facts_free (&facts);
}

static void
test_eval_case (void **state)
{
  const char *dir = *state;
  run_case (dir, strrchr (dir, '/') + 1);
}

static void
test_logfmt_escapes (void **state)
{
  cleanup_free char *line = NULL;
  logfmt_append (&line, "decision", "deny");
  logfmt_append (&line, "container", "evil\" decision=allow\nx");
  logfmt_append (&line, "empty", "");
  assert_string_equal (line, "decision=deny container=\"evil\\\" decision=allow\\x0ax\" empty=\"\"");
}

int
main (void)
{
  cleanup_free char *root = suite_path ("tests/unit/data/eval");
  size_t n;
  char **cases = suite_cases (root, &n);
  struct CMUnitTest *tests = xmalloc0 ((n + 1) * sizeof (*tests));
  int ret;

  for (size_t i = 0; i < n; i++)
    {
      char *dir = NULL;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      tests[i] = (struct CMUnitTest){ .name = cases[i], .test_func = test_eval_case, .initial_state = dir };
    }
  tests[n] = (struct CMUnitTest){ .name = "logfmt_escapes", .test_func = test_logfmt_escapes };
  ret = _cmocka_run_group_tests ("eval", tests, n + 1, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free (tests[i].initial_state);
  free (tests);
  strv_free (cases, n);
  return ret;
}
