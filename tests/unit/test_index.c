/* The decision index decides exactly as the rules over the database do.

   Differential: the same decision (verdict, mode, scope, reasons with their
   code, detail, remedy and log fields, waivers applied and expired, the
   syslog line and check's JSON) from index_decide and from
   - eval_image, over every case of the eval suite (tests/unit/data/eval/)
     at many instants around the case's own;
   - decide_image, over every real report in ../shared/testdata/reports
     imported into a database, under the example policy, every eval-suite
     policy and random ones, for every digest, unknown digests and none,
     several namespaces and names, at many instants;
   - eval_image, over seeded random policies, images, namespaces, names and
     instants (PG_INDEX_RANDOM_ROUNDS rounds, 300 decisions each), and
     decide_image over random databases.
   Faults: a missing, truncated, foreign, other-format, other-build,
   damaged or stale index is refused with a message that says so.  */
#include "eval_case.h"
#include "random_case.h"
#include "real_reports.h"
#include "index/index.h"
#include "index/format.h" /* the trailer: to damage it on purpose */
#include "import/import.h"
#include "report/report.h"
#include "rules/policy_cache.h"

#include <cdb.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <utime.h>

#define DAY 86400

/* ---- two decisions, field by field ---- */

static bool
same_str (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

static void
expect_strv (const char *what, const char *field, char **a, size_t na, char **b, size_t nb)
{
  if (na != nb)
    fail_msg ("%s: %s: %zu vs %zu", what, field, na, nb);
  for (size_t i = 0; i < na; i++)
    if (!same_str (a[i], b[i]))
      fail_msg ("%s: %s[%zu]: %s vs %s", what, field, i, a[i], b[i]);
}

#define EXPECT_STR(field)                                                                                    \
  do                                                                                                         \
    if (!same_str (a->field, b->field))                                                                      \
      fail_msg ("%s: " #field ": `%s` vs `%s`", what, a->field ? a->field : "(null)",                        \
                b->field ? b->field : "(null)");                                                             \
  while (0)

static void
expect_same (const char *what, const struct pg_decision *a, const struct pg_decision *b,
             const struct pg_context *ctx)
{
  if (a->verdict != b->verdict || a->mode != b->mode)
    fail_msg ("%s: verdict/mode %s/%s vs %s/%s", what, verdict_name (a->verdict), mode_name (a->mode),
              verdict_name (b->verdict), mode_name (b->mode));
  EXPECT_STR (scope);
  EXPECT_STR (policy_version);
  EXPECT_STR (image_id);
  EXPECT_STR (image_name);
  EXPECT_STR (log_fields);
  if (a->n_reasons != b->n_reasons)
    fail_msg ("%s: %zu reasons (%s...) vs %zu (%s...)", what, a->n_reasons,
              a->n_reasons ? a->reasons[0].code : "", b->n_reasons, b->n_reasons ? b->reasons[0].code : "");
  for (size_t i = 0; i < a->n_reasons; i++)
    {
      const struct pg_reason *ra = &a->reasons[i], *rb = &b->reasons[i];
      if (!same_str (ra->code, rb->code) || !same_str (ra->detail, rb->detail)
          || !same_str (ra->remedy, rb->remedy) || !same_str (ra->log_fields, rb->log_fields)
          || ra->deny != rb->deny)
        fail_msg ("%s: reason %zu: %s `%s` vs %s `%s`", what, i, ra->code, ra->detail ? ra->detail : "",
                  rb->code, rb->detail ? rb->detail : "");
    }
  expect_strv (what, "waivers_applied", a->waivers_applied, a->n_waivers_applied, b->waivers_applied,
               b->n_waivers_applied);
  expect_strv (what, "waivers_expired", a->waivers_expired, a->n_waivers_expired, b->waivers_expired,
               b->n_waivers_expired);
  {
    cleanup_free char *la = report_logfmt (a, ctx);
    cleanup_free char *lb = report_logfmt (b, ctx);
    cleanup_json json_t *ja = report_json (a, ctx);
    cleanup_json json_t *jb = report_json (b, ctx);
    cleanup_free char *sa = json_dumps (ja, JSON_SORT_KEYS);
    cleanup_free char *sb = json_dumps (jb, JSON_SORT_KEYS);
    if (strcmp (la, lb) != 0 || strcmp (sa, sb) != 0)
      fail_msg ("%s: rendered differently:\n%s\n%s", what, la, lb);
  }
}

static uint64_t decisions; /* compared, for the summary */

/* index_decide against EXPECTED (computed by the caller at NOW).  */
static void
compare_with_index (const char *what, pg_index *idx, const struct pg_context *ctx, int64_t now,
                    struct pg_decision *expected)
{
  struct pg_decision got;
  pg_error_t err = NULL;
  if (index_decide (idx, ctx, now, &got, &err) < 0)
    fail_msg ("%s: index_decide: %s", what, err->msg);
  expect_same (what, expected, &got, ctx);
  pg_decision_free (&got);
  decisions++;
}

static pg_index *
open_index (const char *path, const char *db)
{
  struct pg_index_open_opts o = { .db_path = db };
  pg_index *idx = NULL;
  pg_error_t err = NULL;
  if (index_open (path, &o, &idx, &err) < 0)
    fail_msg ("index_open %s: %s", path, err->msg);
  return idx;
}

/* A temporary directory's index path; the directory goes with the db.  */
static char *
index_beside (const char *db)
{
  return index_path_for_db (db);
}

/* ---- the eval suite ---- */

static void
add_digest (char ***v, size_t *n, const char *d)
{
  if (d == NULL)
    return;
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*v)[i], d) == 0)
      return;
  strv_append (v, n, d);
}

static void
eval_case (const char *dir, const char *name, const char *index)
{
  cleanup_json json_t *pj = suite_json (dir, "policy.json", true);
  cleanup_json json_t *ij = suite_json (dir, "image.json", false);
  cleanup_json json_t *cj = suite_json (dir, "context.json", true);
  cleanup_json json_t *xj = suite_json (dir, "facts.json", false);
  cleanup_policy struct pg_policy *policy = NULL;
  struct pg_image_record rec;
  struct pg_eval_facts facts = { 0 };
  struct pg_context ctx;
  pg_index_writer *w = NULL;
  pg_index *idx;
  pg_error_t err = NULL;
  char **digests = NULL;
  size_t n_digests = 0;
  int64_t now;
  static const int64_t offsets[]
      = { 0,         1,         -1,         59,         -59,        3600,      -3600,
          DAY,       -DAY,      7 * DAY,    -7 * DAY,   30 * DAY,   -30 * DAY, 90 * DAY,
          -90 * DAY, 365 * DAY, -365 * DAY, 1000 * DAY, -1000 * DAY };

  if (policy_parse_json (pj, name, &policy, &err) < 0)
    fail_msg ("%s: policy: %s", name, err->msg);
  if (ij)
    record_from_json (ij, &rec);
  if (xj)
    facts_from_json (xj, &facts);
  context_from_json (cj, name, &ctx);
  now = time_field (cj, "now");

  assert_int_equal (index_writer_start (index, policy, &facts, &w, &err), 0);
  if (ij)
    {
      add_digest (&digests, &n_digests, ctx.digest);
      add_digest (&digests, &n_digests, rec.image_id);
      add_digest (&digests, &n_digests, rec.manifest_digest);
      if (index_writer_add_image (w, &rec, &facts, digests, n_digests, &err) < 0)
        fail_msg ("%s: %s", name, err->msg);
    }
  if (index_writer_finish (w, NULL, now, NULL, &err) < 0)
    fail_msg ("%s: %s", name, err->msg);
  idx = open_index (index, NULL);

  for (size_t i = 0; i < sizeof (offsets) / sizeof (offsets[0]) + 160; i++)
    {
      int64_t t = i < sizeof (offsets) / sizeof (offsets[0])
                      ? now + offsets[i]
                      : now + ((int64_t) (i - sizeof (offsets) / sizeof (offsets[0])) - 80) * 5 * DAY;
      struct pg_decision want;
      char what[256];
      snprintf (what, sizeof (what), "%s at %+lld s", name, (long long) (t - now));
      assert_int_equal (eval_image (policy, ij ? &rec : NULL, &facts, &ctx, t, &want, &err), 0);
      compare_with_index (what, idx, &ctx, t, &want);
      pg_decision_free (&want);
    }
  index_close (idx);
  strv_free (digests, n_digests);
  if (ij)
    pg_image_record_free (&rec);
  pg_eval_facts_free (&facts);
}

static void
test_eval_suite (void **state)
{
  cleanup_free char *root = suite_path ("tests/unit/data/eval");
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_free char *index = index_beside (db);
  size_t n;
  char **cases = suite_cases (root, &n);

  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *dir = NULL;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      eval_case (dir, cases[i], index);
    }
  assert_true (n >= 80);
  strv_free (cases, n);
}

/* ---- databases: decide_image against index_decide ---- */

static const char *const namespaces[] = { NULL, "kube-system", "team-a", "payments", "sandbox-1" };
static const char *const refs[]
    = { NULL, "docker.io/library/nginx:latest", "registry.example.com/legacy/app:1" };

struct db_check
{
  const char *name;
  const int64_t *instants;
  size_t n_instants;
  size_t n_namespaces, n_refs;
};

/* Every digest of the database (and two it does not know, and none) under
   every namespace, name and instant of C.  */
static void
compare_db_as_is (pg_store *store, const char *db, const char *index, const struct db_check *c)
{
  cleanup_free int64_t *rowids = NULL;
  char **digests = NULL;
  size_t n_rowids = 0, n_digests = 0;
  pg_error_t err = NULL;
  struct pg_index_info st;
  pg_index *idx;

  idx = open_index (index, db);
  index_get_info (idx, &st);
  assert_int_equal (store_list_images (store, &rowids, &n_rowids, &err), 0);
  for (size_t i = 0; i < n_rowids; i++)
    {
      char **d = NULL;
      size_t nd = 0;
      assert_int_equal (store_image_digests (store, rowids[i], &d, &nd, &err), 0);
      for (size_t k = 0; k < nd; k++)
        strv_append (&digests, &n_digests, d[k]);
      strv_free (d, nd);
    }
  assert_int_equal ((size_t) st.keys, n_digests);
  strv_append (&digests, &n_digests,
               "sha256:0000000000000000000000000000000000000000000000000000000000000001");
  strv_append (&digests, &n_digests, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
  for (size_t i = 0; i <= n_digests; i++)
    for (size_t ns = 0; ns < c->n_namespaces; ns++)
      for (size_t r = 0; r < c->n_refs; r++)
        for (size_t t = 0; t < c->n_instants; t++)
          {
            struct pg_context ctx = { 0 };
            struct pg_decision want;
            char what[512];
            ctx.container_id = "c";
            ctx.engine = "runc";
            ctx.digest = i < n_digests ? digests[i] : NULL;
            ctx.namespace = namespaces[ns];
            ctx.image_ref = refs[r];
            ctx.max_policy_age = (t % 3) ? 30 * DAY : 0;
            ctx.policy_stale = (enum pg_verdict) (t % 3);
            snprintf (what, sizeof (what), "%s: %s ns=%s ref=%s at %lld", c->name,
                      ctx.digest ? ctx.digest : "(none)", ctx.namespace ? ctx.namespace : "-",
                      ctx.image_ref ? ctx.image_ref : "-", (long long) c->instants[t]);
            if (decide_image (store, &ctx, c->instants[t], &want, &err) < 0)
              fail_msg ("%s: decide_image: %s", what, err->msg);
            compare_with_index (what, idx, &ctx, c->instants[t], &want);
            pg_decision_free (&want);
          }
  index_close (idx);
  strv_free (digests, n_digests);
}

static void
compare_db (pg_store *store, const char *db, const char *index, const struct db_check *c)
{
  pg_error_t err = NULL;
  if (index_compile (store, index, 1000, NULL, &err) < 0)
    fail_msg ("%s: index_compile: %s", c->name, err->msg);
  compare_db_as_is (store, db, index, c);
}

static void
set_policy (pg_store *store, const char *text)
{
  cleanup_policy struct pg_policy *p = NULL;
  pg_error_t err = NULL;
  if (policy_parse (text, strlen (text), "policy", &p, &err) < 0)
    fail_msg ("policy: %s", err->msg);
  assert_int_equal (store_begin (store, true, &err), 0);
  if (policy_store_set (store, text, p->version, 1000, &err) < 0 || store_commit (store, &err) < 0)
    fail_msg ("policy: %s", err->msg);
}

static char **
suite_policies (size_t *n)
{
  cleanup_free char *root = suite_path ("tests/unit/data/eval");
  size_t nc;
  char **cases = suite_cases (root, &nc);
  char **out = NULL;
  *n = 0;
  for (size_t i = 0; i < nc; i++)
    {
      cleanup_free char *dir = NULL;
      char *text;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      text = suite_text (dir, "policy.json");
      if (text)
        strv_append (&out, n, text);
      free (text);
    }
  strv_free (cases, nc);
  return out;
}

static void
random_round (int round, const char *index)
{
  struct rand_round r;
  pg_index_writer *w = NULL;
  pg_index *idx;
  pg_error_t err = NULL;

  rand_round_make (round, &r);
  assert_int_equal (index_writer_start (index, r.policy, &r.globals, &w, &err), 0);
  for (int i = 0; i < N_IMAGES; i++)
    if (index_writer_add_image (w, &r.recs[i], &r.newer[i], r.digests[i], r.n_digests[i], &err) < 0)
      fail_msg ("round %d: %s", round, err->msg);
  assert_int_equal (index_writer_finish (w, NULL, BASE, NULL, &err), 0);
  idx = open_index (index, NULL);

  for (int k = 0; k < 600; k++)
    {
      int i = pick (N_IMAGES + 4);
      const struct pg_image_record *rec = i < N_IMAGES ? &r.recs[i] : NULL;
      struct pg_eval_facts facts = r.globals;
      struct pg_context ctx = { 0 };
      struct pg_decision want;
      char unknown[80], bare[80], what[160];
      int64_t now;

      ctx.container_id = "c";
      ctx.engine = "crio";
      if (rec)
        {
          const char *d = r.digests[i][pick ((int) r.n_digests[i])];
          if (chance (10))
            {
              snprintf (bare, sizeof (bare), "%s", d + 7); /* a bare image ID, as store lookups take */
              d = bare;
            }
          ctx.digest = d;
        }
      else if (i == N_IMAGES)
        ctx.digest = NULL;
      else
        {
          image_digest (unknown, round, N_IMAGES + i, pick (3));
          ctx.digest = unknown;
        }
      ctx.namespace = chance (60) ? PICK (ns_values) : NULL;
      if (chance (40))
        ctx.image_ref = chance (50) && rec && rec->n_repo_tags ? rec->repo_tags[0] : PICK (repos);
      ctx.max_policy_age = chance (50) ? (int64_t) (1 + pick (30)) * DAY : 0;
      ctx.policy_stale = (enum pg_verdict) pick (3);
      now = rand_instant (&r, rec);
      if (rec && rec->has_scan)
        {
          facts.newer_digest = r.newer[i].newer_digest;
          facts.newer_name = r.newer[i].newer_name;
          facts.newer_since = r.newer[i].newer_since;
        }
      else
        facts.n_bases = 0, facts.bases = NULL;
      snprintf (what, sizeof (what), "random round %d, decision %d (image %d, %s)", round, k, i,
                ctx.digest ? ctx.digest : "-");
      assert_int_equal (eval_image (r.policy, rec, &facts, &ctx, now, &want, &err), 0);
      compare_with_index (what, idx, &ctx, now, &want);
      pg_decision_free (&want);
    }
  index_close (idx);
  rand_round_free (&r);
}

static void
test_random (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_free char *index = index_beside (db);
  const char *env = getenv ("PG_INDEX_RANDOM_ROUNDS");
  int rounds = env ? atoi (env) : 200;
  uint64_t before = decisions;

  rng_state = 20261122;
  for (int round = 0; round < rounds; round++)
    random_round (round, index);
  print_message ("%llu random decisions compared\n", (unsigned long long) (decisions - before));
  assert_true (rounds < 200 || decisions - before >= 100000);
}

/* ---- real reports ---- */

static const int64_t report_instants[]
    = { 1577836800, 1672531200, 1704067200, 1717200000, 1735689600, 1748736000,
        1760000000, 1767225600, 1780000000, 1795000000, 1830000000, 1893456000 };

static void
test_reports (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_free char *index = index_beside (db);
  cleanup_free char *example_path = suite_path ("runtime-config/policy.example.json");
  cleanup_free char *example = NULL;
  pg_store *store = NULL;
  pg_error_t err = NULL;
  size_t len, n_policies;
  char **policies;
  struct db_check full = { "example policy", report_instants, sizeof (report_instants) / 8, 5, 3 };
  uint64_t before = decisions;

  assert_int_equal (store_open (db, PG_STORE_CREATE, &store, &err), 0);
  import_real_reports (store);
  assert_int_equal (read_all_file (example_path, PG_MAX_POLICY_SIZE, &example, &len, &err), 0);
  set_policy (store, example);
  compare_db (store, db, index, &full);

  /* A policy larger than the head the reader maps (index/lookup.c: read
     past it into its own buffer): the example with 2,000 waivers more.  */
  {
    json_error_t jerr;
    cleanup_json json_t *doc = json_loads (example, 0, &jerr);
    json_t *waivers = json_object_get (doc, "waivers");
    cleanup_free char *text = NULL;
    cleanup_free char *head = NULL;
    size_t head_len = 0;
    struct db_check c = { "example policy, 2,000 waivers more", report_instants, 6, 3, 2 };

    assert_non_null (waivers);
    for (int i = 0; i < 2000; i++)
      {
        char id[32], repo[96];
        snprintf (id, sizeof (id), "W-big-%04d", i);
        snprintf (repo, sizeof (repo), "registry.example.com/team-%04d/service-with-a-long-name/*", i);
        json_array_append_new (waivers, json_pack ("{s:s, s:{s:s, s:s}, s:s, s:s, s:s}", "id", id, "match",
                                                   "repository", repo, "cve", "CVE-2023-38545", "expires",
                                                   "2026-12-31T00:00:00Z", "reason", "a long reason", "owner",
                                                   "team"));
      }
    text = json_dumps (doc, 0);
    set_policy (store, text);
    compare_db (store, db, index, &c);
    /* The policy is the first record (at 2048, after the table of
       contents): its value must reach past the head.  */
    assert_int_equal (read_all_file (index, 1 << 28, &head, &head_len, &err), 0);
    assert_true (head_len > 2056);
    assert_true (cdb_unpack ((const unsigned char *) head + 2052) > PG_INDEX_HEAD);
  }

  policies = suite_policies (&n_policies);
  for (size_t i = 0; i < n_policies; i++)
    {
      struct db_check c = { "eval-suite policy", report_instants + (i % 4) * 3, 3, 2, 2 };
      set_policy (store, policies[i]);
      compare_db (store, db, index, &c);
    }
  strv_free (policies, n_policies);
  rng_state = 7;
  for (int round = 0; round < 12; round++)
    {
      cleanup_json json_t *doc = rand_policy (round);
      cleanup_free char *text = json_dumps (doc, 0);
      struct db_check c = { "random policy", report_instants + (round % 3) * 4, 4, 3, 2 };
      set_policy (store, text);
      compare_db (store, db, index, &c);
    }
  store_close (store);
  print_message ("%llu decisions over the real reports compared\n",
                 (unsigned long long) (decisions - before));
}

/* ---- random databases: the store's side of the compile ---- */

static void
scan_of_record (const struct pg_image_record *rec, char **digests, size_t n_digests, struct pg_scan *s)
{
  memset (s, 0, sizeof (*s));
  s->scanner = chance (70) ? "trivy" : "grype";
  s->scanned_at = rec->scanned_at;
  s->image_id = rec->image_id;
  s->manifest_digest = rec->manifest_digest;
  for (size_t i = 2; i < n_digests && rec->n_repositories; i++)
    {
      cleanup_free char *rd = NULL;
      xasprintf (&rd, "%s@%s", rec->repositories[0], digests[i]);
      strv_append (&s->repo_digests, &s->n_repo_digests, rd);
    }
  s->repo_tags = rec->repo_tags;
  s->n_repo_tags = rec->n_repo_tags;
  s->created = rec->created;
  s->os_family = rec->os_family;
  s->os_name = rec->os_name;
  s->eosl = rec->eosl;
  s->diff_ids = rec->diff_ids;
  s->n_diff_ids = rec->n_diff_ids;
  s->vulns = rec->vulns;
  s->n_vulns = rec->n_vulns;
  s->packages = rec->packages;
  s->n_packages = rec->n_packages;
  s->source = "random";
}

static void
test_random_db (void **state)
{
  uint64_t before = decisions;
  rng_state = 99;
  for (int round = 0; round < 8; round++)
    {
      cleanup_temp_db char *db = suite_temp_db ();
      cleanup_free char *index = index_beside (db);
      cleanup_json json_t *doc = NULL;
      cleanup_free char *text = NULL;
      pg_store *store = NULL;
      pg_error_t err = NULL;
      struct db_check c = { "random database", report_instants + 6, 6, 3, 2 };

      assert_int_equal (store_open (db, PG_STORE_CREATE, &store, &err), 0);
      assert_int_equal (store_begin (store, true, &err), 0);
      for (int i = 0; i < N_IMAGES; i++)
        {
          struct pg_image_record rec;
          char **digests = NULL;
          size_t n = 0;
          struct pg_scan s;
          rand_record (1000 + round, i, &rec, &digests, &n);
          if (rec.has_scan)
            {
              scan_of_record (&rec, digests, n, &s);
              /* Two scans of some images: the newest counts, both names.  */
              if (store_add_scan (store, &s, BASE, &err) < 0)
                fail_msg ("random db: %s", err->msg);
              if (chance (30))
                {
                  s.scanned_at -= 5 * DAY;
                  s.scanner = "grype";
                  assert_true (store_add_scan (store, &s, BASE, &err) >= 0);
                }
              for (size_t k = 0; k < rec.n_vex; k++)
                {
                  for (size_t dd = 0; dd < n; dd++)
                    {
                      struct pg_vex x = rec.vex[k];
                      char *aliases[] = { x.vuln_id };
                      x.aliases = aliases;
                      x.n_aliases = 1;
                      x.digest = digests[dd];
                      x.source = (char *) "random";
                      assert_true (store_add_vex (store, &x, &err) >= 0);
                    }
                }
              strv_free (s.repo_digests, s.n_repo_digests);
            }
          pg_image_record_free (&rec);
          strv_free (digests, n);
        }
      assert_int_equal (store_commit (store, &err), 0);
      doc = rand_policy (1000 + round);
      text = json_dumps (doc, 0);
      set_policy (store, text);
      compare_db (store, db, index, &c);
      store_close (store);
    }
  print_message ("%llu decisions over random databases compared\n",
                 (unsigned long long) (decisions - before));
}

/* ---- incremental compiles ---- */

/* Add N random images (and, for some, an older scan, a new build of the
   same names, VEX statements) in one transaction.  */
static int64_t scan_clock;

static void
add_random_images (pg_store *store, int round, int first, int n, bool old_reports)
{
  pg_error_t err = NULL;
  assert_int_equal (store_begin (store, true, &err), 0);
  for (int i = first; i < first + n; i++)
    {
      struct pg_image_record rec;
      char **digests = NULL;
      size_t nd = 0;
      struct pg_scan s;
      rand_record (round, i, &rec, &digests, &nd);
      rec.has_scan = true;
      /* Later than every scan so far (a fix first seen now changes no
         other image), or, for OLD_REPORTS, earlier (fixes known earlier
         than recorded).  */
      rec.scanned_at = old_reports ? BASE - 700 * DAY : BASE + 400 * DAY + 60 * scan_clock++;
      scan_of_record (&rec, digests, nd, &s);
      if (store_add_scan (store, &s, BASE, &err) < 0)
        fail_msg ("incremental: %s", err->msg);
      for (size_t k = 0; k < rec.n_vex; k++)
        {
          /* One statement per product, as the importer records them.  */
          for (size_t dd = 0; dd < nd; dd++)
            {
              struct pg_vex x = rec.vex[k];
              char *aliases[] = { x.vuln_id };
              x.aliases = aliases;
              x.n_aliases = 1;
              x.digest = digests[dd];
              x.source = (char *) "random";
              assert_true (store_add_vex (store, &x, &err) >= 0);
            }
        }
      strv_free (s.repo_digests, s.n_repo_digests);
      pg_image_record_free (&rec);
      strv_free (digests, nd);
    }
  assert_int_equal (store_commit (store, &err), 0);
}

static void
refresh (const char *db, const char *index, bool want_incremental, const char *what)
{
  struct pg_index_stats st;
  pg_error_t err = NULL;
  if (index_refresh (db, index, 1000, &st, &err) < 0)
    fail_msg ("%s: index_refresh: %s", what, err->msg);
  if (st.incremental != want_incremental)
    fail_msg ("%s: incremental %d, expected %d (%llu copied, %llu compiled)", what, st.incremental,
              want_incremental, (unsigned long long) st.copied, (unsigned long long) st.compiled);
  if (want_incremental && (st.copied == 0 || st.compiled >= st.images))
    fail_msg ("%s: %llu copied, %llu compiled of %llu", what, (unsigned long long) st.copied,
              (unsigned long long) st.compiled, (unsigned long long) st.images);
}

/* After every change, index_refresh brings the index up to date, copying
   the records of unchanged images: its decisions are decide_image's.  The
   changes that concern every image (a policy, a fix known earlier than
   recorded, a deletion) compile everything.  */
static void
test_incremental (void **state)
{
  uint64_t before = decisions;
  rng_state = 4242;
  for (int round = 0; round < 3; round++)
    {
      cleanup_temp_db char *db = suite_temp_db ();
      cleanup_free char *index = index_beside (db);
      cleanup_json json_t *doc = rand_policy (2000 + round);
      cleanup_free char *text = NULL;
      pg_store *store = NULL;
      pg_error_t err = NULL;
      /* After the new builds' scans (BASE + 400 days on), and a superseded
         grace that ends within them: older builds turn SUPERSEDED.  */
      static const int64_t instants[] = { BASE, BASE + 402 * DAY, BASE + 430 * DAY };
      struct db_check c = { "incremental", instants, 3, 3, 2 };
      json_t *scope;
      size_t k;

      json_object_set_new (json_object_get (doc, "defaults"), "superseded_grace", json_string ("1h"));
      json_object_set_new (json_object_get (doc, "defaults"), "mode", json_string ("enforce"));
      json_array_foreach (json_object_get (doc, "scopes"), k, scope)
        json_object_del (scope, "superseded_grace");
      text = json_dumps (doc, 0);

      assert_int_equal (store_open (db, PG_STORE_CREATE, &store, &err), 0);
      set_policy (store, text);
      add_random_images (store, 2000 + round, 0, N_IMAGES, false);
      refresh (db, index, false, "first compile");
      compare_db_as_is (store, db, index, &c);
      /* New images, new builds of the same names, VEX: a few records.  */
      for (int batch = 0; batch < 3; batch++)
        {
          add_random_images (store, 2000 + round, N_IMAGES + batch * 3, 3, false);
          refresh (db, index, true, "new images");
          compare_db_as_is (store, db, index, &c);
        }
      /* Scans of images already there.  */
      add_random_images (store, 2000 + round, 2, 2, false);
      refresh (db, index, true, "rescans");
      compare_db_as_is (store, db, index, &c);
      /* Nothing changed.  */
      refresh (db, index, true, "no change");
      /* Reports older than the first that saw a fix: every image.  */
      add_random_images (store, 2000 + round, 5, 3, true);
      refresh (db, index, false, "fixes known earlier");
      compare_db_as_is (store, db, index, &c);
      /* A policy: every image.  */
      set_policy (store, text);
      refresh (db, index, false, "policy");
      compare_db_as_is (store, db, index, &c);
      /* Behind patchgate's back: a deletion.  */
      assert_int_equal (sqlite3_exec (store_db (store),
                                      "DELETE FROM names WHERE image = (SELECT min(image) FROM names)", NULL,
                                      NULL, NULL),
                        SQLITE_OK);
      refresh (db, index, false, "deletion");
      compare_db_as_is (store, db, index, &c);
      store_close (store);
    }
  print_message ("%llu decisions after incremental compiles compared\n",
                 (unsigned long long) (decisions - before));
}

/* ---- faults ---- */

static void
expect_refused (const char *path, const struct pg_index_open_opts *o, const char *want)
{
  pg_index *idx = NULL;
  pg_error_t err = NULL;
  if (index_open (path, o, &idx, &err) == 0)
    fail_msg ("%s: opened, expected a refusal naming `%s`", path, want);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("%s: `%s` does not say `%s`", path, err->msg, want);
  pg_error_release (&err);
}

static void
copy_file (const char *from, const char *to, size_t len)
{
  cleanup_free char *data = NULL;
  size_t n = 0;
  pg_error_t err = NULL;
  assert_int_equal (read_all_file (from, 1 << 28, &data, &n, &err), 0);
  assert_int_equal (pg_write_file_atomic (to, data, len < n ? len : n, &err), 0);
}

/* Overwrite N bytes at OFFSET of PATH's trailer (index/format.h), and its
   checksum when FIX_CHECKSUM.  */
static void
patch_trailer (const char *path, size_t offset, const void *bytes, size_t n, bool fix_checksum)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  pg_error_t err = NULL;
  struct pg_index_trailer t;

  assert_int_equal (read_all_file (path, 1 << 28, &data, &len, &err), 0);
  memcpy (&t, data + len - sizeof (t), sizeof (t));
  memcpy ((char *) &t + offset, bytes, n);
  if (fix_checksum)
    t.checksum = pg_index_fnv1a (&t, offsetof (struct pg_index_trailer, checksum));
  memcpy (data + len - sizeof (t), &t, sizeof (t));
  assert_int_equal (pg_write_file_atomic (path, data, len, &err), 0);
}

/* A file's mtime moves on at the next write only if the clock did.  */
static void
sleep_a_tick (void)
{
  struct timespec ts = { 0, 20 * 1000 * 1000 };
  nanosleep (&ts, NULL);
}

static void
test_faults (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_free char *index = index_beside (db);
  cleanup_free char *example_path = suite_path ("runtime-config/policy.example.json");
  cleanup_free char *example = NULL;
  cleanup_free char *dir = xstrdup (db);
  cleanup_free char *bad = NULL;
  pg_store *store = NULL;
  pg_error_t err = NULL;
  struct stat st, dst;
  size_t len;
  struct pg_index_open_opts fresh = { .db_path = db };
  pg_index *idx = NULL;

  *strrchr (dir, '/') = '\0';
  xasprintf (&bad, "%s/bad.idx", dir);
  assert_int_equal (store_open (db, PG_STORE_CREATE, &store, &err), 0);
  import_real_reports (store);
  assert_int_equal (read_all_file (example_path, PG_MAX_POLICY_SIZE, &example, &len, &err), 0);
  set_policy (store, example);
  assert_int_equal (index_compile (store, index, 1000, NULL, &err), 0);
  store_close (store);
  assert_int_equal (stat (index, &st), 0);

  /* Missing.  */
  expect_refused (bad, NULL, "is missing");
  /* Truncated anywhere, or grown.  */
  {
    const size_t cuts[] = {
      0, 1, 100, 2047, 2048, (size_t) st.st_size / 2, (size_t) st.st_size - 100, (size_t) st.st_size - 1
    };
    for (size_t i = 0; i < sizeof (cuts) / sizeof (cuts[0]); i++)
      {
        copy_file (index, bad, cuts[i]);
        expect_refused (bad, NULL, "truncated");
      }
  }
  {
    cleanup_free char *data = NULL;
    size_t n = 0;
    assert_int_equal (read_all_file (index, 1 << 28, &data, &n, &err), 0);
    data = xrealloc (data, n + 10);
    memset (data + n, 'x', 10);
    assert_int_equal (pg_write_file_atomic (bad, data, n + 10, &err), 0);
    expect_refused (bad, NULL, "truncated");
  }
  /* Foreign: the database itself, random bytes.  */
  expect_refused (db, NULL, "not a patchgate index");
  {
    char junk[8192];
    for (size_t i = 0; i < sizeof (junk); i++)
      junk[i] = (char) rnd ();
    assert_int_equal (pg_write_file_atomic (bad, junk, sizeof (junk), &err), 0);
    expect_refused (bad, NULL, "not a patchgate index");
  }
  /* Another format, another build, a damaged trailer.  */
  copy_file (index, bad, SIZE_MAX);
  patch_trailer (bad, offsetof (struct pg_index_trailer, format), (const uint32_t[]){ 99 }, 4, true);
  expect_refused (bad, NULL, "has format 99");
  copy_file (index, bad, SIZE_MAX);
  patch_trailer (bad, offsetof (struct pg_index_trailer, build_fingerprint), (const uint64_t[]){ 12345 }, 8,
                 true);
  expect_refused (bad, NULL, "another build");
  copy_file (index, bad, SIZE_MAX);
  patch_trailer (bad, offsetof (struct pg_index_trailer, compiled_at), (const uint64_t[]){ 12345 }, 8, false);
  expect_refused (bad, NULL, "damaged");

  /* Stale: the database changed after the compile.  Within index_max_lag
     (a writer's recompile under way) the index is used; after it, refused. */
  assert_int_equal (index_open (index, &fresh, &idx, &err), 0);
  index_close (idx);
  sleep_a_tick ();
  assert_int_equal (store_open (db, 0, &store, &err), 0);
  set_policy (store, example);
  store_close (store);
  assert_int_equal (stat (db, &dst), 0);
  {
    struct pg_index_open_opts o = { .db_path = db, .max_lag = 600, .wall_now = dst.st_mtim.tv_sec + 599 };
    struct pg_index_info info;
    assert_int_equal (index_open (index, &o, &idx, &err), 0);
    index_get_info (idx, &info);
    assert_false (info.db_matches);
    index_close (idx);
    o.wall_now = dst.st_mtim.tv_sec + 601;
    expect_refused (index, &o, "is stale");
    /* Recompiled: fresh again.  */
    assert_int_equal (store_open (db, PG_STORE_READONLY, &store, &err), 0);
    assert_int_equal (index_compile (store, index, 2000, NULL, &err), 0);
    store_close (store);
    assert_int_equal (index_open (index, &o, &idx, &err), 0);
    index_close (idx);
  }
  /* The database replaced by another file (restored from a backup).  */
  {
    struct timeval tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    cleanup_free char *copy = NULL;
    xasprintf (&copy, "%s.copy", db);
    copy_file (db, copy, SIZE_MAX);
    assert_int_equal (rename (copy, db), 0);
    assert_int_equal (utimes (db, tv), 0);
    expect_refused (index, &fresh, "is stale");
    unlink (db);
    expect_refused (index, &fresh, "policy database");
  }
}

/* A damaged record never crashes the reader: every byte of the file's
   records flipped in turn yields an error or a decision.  */
static void
test_damaged_records (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_free char *index = index_beside (db);
  cleanup_free char *data = NULL;
  struct rand_round r;
  pg_index_writer *w = NULL;
  pg_error_t err = NULL;
  size_t len = 0, refused = 0;

  rng_state = 5;
  rand_round_make (0, &r);
  assert_int_equal (index_writer_start (index, r.policy, &r.globals, &w, &err), 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal (index_writer_add_image (w, &r.recs[i], &r.newer[i], r.digests[i], r.n_digests[i], &err),
                      0);
  assert_int_equal (index_writer_finish (w, NULL, BASE, NULL, &err), 0);
  assert_int_equal (read_all_file (index, 1 << 28, &data, &len, &err), 0);
  for (size_t pos = 2048; pos + 300 < len; pos += 3)
    {
      pg_index *idx = NULL;
      data[pos] ^= 0x41;
      assert_int_equal (pg_write_file_atomic (index, data, len, &err), 0);
      data[pos] ^= 0x41;
      if (index_open (index, NULL, &idx, &err) < 0)
        {
          pg_error_release (&err);
          refused++;
          continue;
        }
      for (int i = 0; i < 4; i++)
        for (size_t k = 0; k < r.n_digests[i]; k++)
          {
            struct pg_context ctx = { 0 };
            struct pg_decision d;
            ctx.digest = r.digests[i][k];
            if (index_decide (idx, &ctx, BASE, &d, &err) < 0)
              {
                assert_non_null (strstr (err->msg, "policy index"));
                pg_error_release (&err);
                refused++;
              }
            else
              pg_decision_free (&d);
          }
      index_close (idx);
    }
  assert_true (refused > 0);
  rand_round_free (&r);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_eval_suite),      cmocka_unit_test (test_reports),
    cmocka_unit_test (test_random),          cmocka_unit_test (test_random_db),
    cmocka_unit_test (test_incremental),     cmocka_unit_test (test_faults),
    cmocka_unit_test (test_damaged_records),
  };
  int ret = cmocka_run_group_tests (tests, NULL, NULL);
  fprintf (stderr, "# %llu decisions compared\n", (unsigned long long) decisions);
  return ret;
}
