/* A database with history, made from the real reports in
   $PATCHGATE_SRC/../shared/testdata/reports: each report imported in several
   rounds at different scan times (the first round without some of the fixes,
   so a fix becomes known in a later round), a newer build of nginx:latest
   (SUPERSEDED), a base image whose layers start nginx's and that the policy
   revokes (REVOKED_BASE), an OpenVEX statement and a waiver that expire, and
   a policy whose rules all have something to say.  Shared by test_prune.c
   and test_check_report.c; header-only, as suite.h.  */
#ifndef PATCHGATE_TEST_HISTORY_H
#define PATCHGATE_TEST_HISTORY_H

#include "suite.h"
#include "import/import.h"
#include "report/report.h"
#include "rules/eval.h"
#include "rules/policy_cache.h"
#include "store/catalog.h"
#include "base/clock.h"
#include "base/limits.h"

/* Every real report that names an image (legacy Trivy output cannot).  */
static const char *const hist_reports[] = {
  "trivy/nginx-debian12.json",   "grype/nginx-debian12.json",    "trivy/clamav-alpine.json",
  "grype/clamav-alpine.json",    "trivy/all_statuses.json",      "trivy/rockylinux-8.json",
  "grype/check_all_fields.json", "grype/fix_not_available.json",
};
#define HIST_N_REPORTS (sizeof (hist_reports) / sizeof (hist_reports[0]))

#define HIST_T0 1767225600 /* 2026-01-01T00:00:00Z */
#define HIST_DAY 86400
#define HIST_ROUNDS 6
#define HIST_EVERY (5 * HIST_DAY)
/* The last round's scans.  */
#define HIST_LAST (HIST_T0 + (HIST_ROUNDS - 1) * HIST_EVERY)

#define HIST_NEWER_NGINX "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define HIST_NEWER_NGINX_REPO "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define HIST_BASE "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static inline void
hist_load (const char *rel, struct pg_scan *out)
{
  cleanup_free char *path = suite_path ("../shared/testdata/reports/%s", rel);
  cleanup_free char *text = NULL;
  cleanup_json json_t *doc = NULL;
  pg_error_t err = NULL;
  size_t len;

  memset (out, 0, sizeof (*out));
  if (read_all_file (path, PG_MAX_REPORT_SIZE, &text, &len, &err) < 0
      || import_parse_json (text, len, path, false, &doc, NULL, &err) < 0
      || import_parse_report (doc, rel, out, &err) < 0)
    fail_msg ("%s: %s (the real reports are needed: ../shared/testdata/reports)", path, err->msg);
}

/* REPORT as scanned in round ROUND: its time moved, and in round 0 every
   other finding with a fix still without it.  */
static inline void
hist_round_scan (size_t report, int round, struct pg_scan *s)
{
  size_t fixes = 0;

  hist_load (hist_reports[report], s);
  s->scanned_at = HIST_T0 + round * HIST_EVERY + (int64_t) report * 3600;
  /* Grype's own fix dates (fix.available, none in these older reports):
     every other fixed finding gets one, moving between rounds and naming
     another kind, so that the earliest and, on a tie, the smaller kind is
     what the fixes row keeps.  */
  for (size_t i = 0; strcmp (s->scanner, "grype") == 0 && i < s->n_vulns; i++)
    if (s->vulns[i].fixed && i % 2 == 1)
      {
        free (s->vulns[i].fix_date_kind);
        s->vulns[i].fix_date = HIST_T0 - 30 * HIST_DAY + (round % 3) * HIST_DAY;
        s->vulns[i].fix_date_kind = xstrdup (round % 2 ? "advisory" : "first-observed");
      }
  /* A reproducible build (1980): its age counts from when it was first seen. */
  if (strcmp (hist_reports[report], "grype/check_all_fields.json") == 0)
    s->created = 315532800;
  for (size_t i = 0; round == 0 && i < s->n_vulns; i++)
    if (s->vulns[i].fixed && fixes++ % 2 == 0)
      {
        free (s->vulns[i].fixed);
        free (s->vulns[i].remedy);
        free (s->vulns[i].status);
        s->vulns[i].fixed = s->vulns[i].remedy = NULL;
        s->vulns[i].status = xstrdup ("affected");
        s->vulns[i].fix_date = 0;
      }
}

static inline void
hist_record (pg_store *st, const struct pg_scan *s, int64_t now)
{
  pg_error_t err = NULL;
  assert_int_equal (store_begin (st, true, &err), 0);
  if (store_add_scan (st, s, now, &err) < 0)
    fail_msg ("recording %s: %s", s->source ? s->source : "a scan", err->msg);
  assert_int_equal (store_commit (st, &err), 0);
}

/* The newer build of nginx:latest (trivy's nginx scan with other digests)
   and the base whose first layer starts nginx's.  */
static inline void
hist_record_lineage (pg_store *st)
{
  struct pg_scan s;

  hist_load ("trivy/nginx-debian12.json", &s);
  free (s.image_id);
  free (s.manifest_digest);
  s.image_id = xstrdup (HIST_NEWER_NGINX);
  s.manifest_digest = NULL;
  strv_free (s.repo_digests, s.n_repo_digests);
  s.repo_digests = NULL;
  s.n_repo_digests = 0;
  strv_append (&s.repo_digests, &s.n_repo_digests, "nginx@" HIST_NEWER_NGINX_REPO);
  s.scanned_at = HIST_T0 + 3 * HIST_EVERY + 1800;
  hist_record (st, &s, s.scanned_at + 600);
  pg_scan_free (&s);

  hist_load ("trivy/nginx-debian12.json", &s);
  assert_true (s.n_diff_ids > 1);
  free (s.image_id);
  free (s.manifest_digest);
  s.image_id = xstrdup (HIST_BASE);
  s.manifest_digest = NULL;
  strv_free (s.repo_digests, s.n_repo_digests);
  strv_free (s.repo_tags, s.n_repo_tags);
  s.repo_digests = s.repo_tags = NULL;
  s.n_repo_digests = s.n_repo_tags = 0;
  strv_append (&s.repo_tags, &s.n_repo_tags, "registry.example/debian-base:12");
  for (size_t i = 1; i < s.n_diff_ids; i++)
    free (s.diff_ids[i]);
  s.n_diff_ids = 1;
  for (size_t i = 0; i < s.n_vulns; i++)
    pg_vuln_clear (&s.vulns[i]);
  s.n_vulns = 0;
  s.scanned_at = HIST_T0;
  hist_record (st, &s, s.scanned_at + 600);
  pg_scan_free (&s);
}

static inline char *
hist_policy_text (void)
{
  char waiver_expires[32], *text = NULL;
  format_rfc3339 (HIST_LAST + 20 * HIST_DAY, waiver_expires, sizeof (waiver_expires));
  xasprintf (
      &text,
      "{\"version\": \"history-1\","
      " \"defaults\": {\"mode\": \"enforce\", \"unscanned\": \"deny\", \"max_scan_age\": \"7d\","
      "  \"max_image_age\": \"400d\", \"superseded_grace\": \"3d\", \"vex_max_age\": \"30d\","
      "  \"fixable_grace\": {\"CRITICAL\": \"7d\", \"HIGH\": \"14d\", \"MEDIUM\": \"30d\", \"LOW\": \"60d\","
      "   \"NEGLIGIBLE\": \"90d\", \"UNKNOWN\": \"90d\"}},"
      " \"scopes\": [{\"name\": \"rocky\", \"match\": {\"repository\": \"ghcr.io/aquasecurity/*\"},"
      "  \"max_scan_age\": \"30d\"}],"
      " \"min_versions\": {\"debian\": {\"libc6\": \"9:0\"}, \"alpine\": {\"busybox\": \"99\"}},"
      " \"eol\": {\"debian:10\": \"2024-06-30T00:00:00Z\"},"
      " \"revoked\": {\"digests\": [], \"bases\": [\"" HIST_BASE "\"]},"
      " \"waivers\": [{\"id\": \"W-nginx\", \"match\": {\"repository\": \"docker.io/library/nginx\","
      "  \"cve\": \"CVE-2025-4598\"}, \"expires\": \"%s\", \"reason\": \"tests\", \"owner\": \"tests\"}]}",
      waiver_expires);
  return text;
}

static inline void
hist_set_policy (pg_store *st)
{
  cleanup_free char *text = hist_policy_text ();
  pg_error_t err = NULL;
  assert_int_equal (store_begin (st, true, &err), 0);
  if (policy_store_set (st, text, "history-1", HIST_T0, &err) < 0)
    fail_msg ("policy: %s", err->msg);
  assert_int_equal (store_commit (st, &err), 0);
}

static inline void
hist_add_vex (pg_store *st, const char *digest, const char *cve, int64_t issued)
{
  char *aliases[] = { (char *) cve };
  struct pg_vex v = { .vuln_id = (char *) cve,
                      .aliases = aliases,
                      .n_aliases = 1,
                      .status = (char *) "not_affected",
                      .issued = issued,
                      .digest = (char *) digest,
                      .source = (char *) "tests" };
  pg_error_t err = NULL;
  assert_int_equal (store_begin (st, true, &err), 0);
  assert_true (store_add_vex (st, &v, &err) >= 0);
  assert_int_equal (store_commit (st, &err), 0);
}

/* The database at PATH: rounds FIRST..LAST-1 of every report (SKIP: a
   report left out, or HIST_N_REPORTS), the lineage, VEX, the policy.  */
static inline void
hist_build (const char *path, int first, int last, size_t skip)
{
  cleanup_store pg_store *st = NULL;
  pg_error_t err = NULL;

  assert_int_equal (store_open (path, PG_STORE_CREATE, &st, &err), 0);
  for (int round = first; round < last; round++)
    for (size_t r = 0; r < HIST_N_REPORTS; r++)
      {
        struct pg_scan s;
        if (r == skip)
          continue;
        hist_round_scan (r, round, &s);
        hist_record (st, &s, s.scanned_at + 600);
        pg_scan_free (&s);
      }
  hist_record_lineage (st);
  {
    struct pg_scan s;
    hist_load ("trivy/nginx-debian12.json", &s);
    hist_add_vex (st, s.image_id, "CVE-2025-48174", HIST_T0 + 2 * HIST_DAY);
    pg_scan_free (&s);
  }
  hist_set_policy (st);
}

/* Instants to decide at: inside the history and after it.  */
static const int64_t hist_instants[] = {
  HIST_T0 + 3 * HIST_DAY,    HIST_T0 + 16 * HIST_DAY,    HIST_LAST + 3600,
  HIST_LAST + 4 * HIST_DAY,  HIST_LAST + 10 * HIST_DAY,  HIST_LAST + 25 * HIST_DAY,
  HIST_LAST + 45 * HIST_DAY, HIST_LAST + 100 * HIST_DAY, HIST_LAST + 400 * HIST_DAY,
};
#define HIST_N_INSTANTS (sizeof (hist_instants) / sizeof (hist_instants[0]))

/* The decision's whole explanation: check --json's object (reasons with
   detail and remedy, waivers, the very log line).  */
static inline json_t *
hist_decide (pg_store *st, const char *digest, int64_t now)
{
  struct pg_context ctx = { .container_id = "history", .engine = "runc", .digest = digest };
  cleanup_decision struct pg_decision d = { 0 };
  pg_error_t err = NULL;

  if (decide_image (st, &ctx, now, &d, &err) < 0)
    fail_msg ("deciding %s: %s", digest, err->msg);
  return report_json (&d, &ctx);
}

/* Every image of the database at every instant: {"<digest> @ <time>": decision}. */
static inline json_t *
hist_decide_all (const char *path)
{
  cleanup_store pg_store *st = NULL;
  cleanup_catalog struct pg_catalog cat = { 0 };
  pg_error_t err = NULL;
  json_t *all = json_object ();

  assert_int_equal (store_open (path, PG_STORE_READONLY, &st, &err), 0);
  assert_int_equal (store_begin (st, false, &err), 0);
  assert_int_equal (store_catalog_load (st, &cat, &err), 0);
  store_rollback (st);
  for (size_t i = 0; i < cat.n_images; i++)
    for (size_t t = 0; t < HIST_N_INSTANTS; t++)
      {
        char when[32], key[160];
        format_rfc3339 (hist_instants[t], when, sizeof (when));
        snprintf (key, sizeof (key), "%s @ %s", cat.images[i].digest, when);
        json_object_set_new (all, key, hist_decide (st, cat.images[i].digest, hist_instants[t]));
      }
  return all;
}

/* The first key whose values differ (or is in one only), or NULL.  */
static inline const char *
hist_first_difference (json_t *a, json_t *b)
{
  const char *k;
  json_t *v;
  json_object_foreach (a, k, v)
    if (!json_equal (v, json_object_get (b, k)))
      return k;
  json_object_foreach (b, k, v)
    if (json_object_get (a, k) == NULL)
      return k;
  return NULL;
}

static inline void
hist_assert_same (json_t *before, json_t *after, const char *what)
{
  const char *k = hist_first_difference (before, after);
  if (k)
    {
      cleanup_free char *x = json_dumps (json_object_get (before, k), JSON_INDENT (2));
      cleanup_free char *y = json_dumps (json_object_get (after, k), JSON_INDENT (2));
      fail_msg ("%s: the decision for %s differs:\nbefore: %s\nafter: %s", what, k, x ? x : "(none)",
                y ? y : "(none)");
    }
}

/* Whether a decision has a reason whose code starts with CODE and whose
   detail has DETAIL in it (NULL: any),
   for checking that the decisions say much.  */
static inline bool
hist_has_detail (json_t *all, const char *code, const char *detail)
{
  const char *k;
  json_t *v, *r;
  size_t i;
  json_object_foreach (all, k, v)
    json_array_foreach (json_object_get (v, "reasons"), i, r)
      if (strncmp (json_string_value (json_object_get (r, "code")), code, strlen (code)) == 0
          && (detail == NULL || strstr (json_string_value (json_object_get (r, "detail")), detail)))
        return true;
  return false;
}

static inline bool
hist_has_reason (json_t *all, const char *code)
{
  return hist_has_detail (all, code, NULL);
}

#endif
