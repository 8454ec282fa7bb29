/* `patchgate report expiring` (expiring/expiring.h) against index_decide,
   the hook's decision, second by second where it matters.

   For every image of an index, at a "now" and a window: an image reported
   is allowed at now, refused at its refused_at and not the second before
   (T-1 allowed, T refused), each reason's code is absent the second before
   its instant and present at it; an image not reported is refused at now
   already, or allowed at every instant of the window tried.  And at
   instants all over the window (each reported instant and its
   neighbours, where the rules turn for the image, random ones) the codes
   that deny are exactly those at now plus those reported up to then: so a
   reason the search skipped, or a rule that turns a reason off with time
   (which the search assumes none does), fails here.

   Over: every case of the eval suite (tests/unit/data/eval/), seeded
   random policies and images (random_case.h, the generator of
   test_index.c; PG_EXPIRING_RANDOM_ROUNDS rounds), and the real reports in
   ../shared/testdata/reports under the example policy and random ones.  */
#include "eval_case.h"
#include "random_case.h"
#include "real_reports.h"
#include "expiring/expiring.h"
#include "index/index.h"
#include "import/import.h"

static uint64_t checked_images, checked_instants, reported_reasons;

/* ---- the codes that deny at an instant ---- */

static int
cmp_cstr (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* "CODE,CODE" sorted, each once, of V[0..N).  */
static char *
join_codes (const char **v, size_t n)
{
  char *out = xstrdup ("");
  qsort (v, n, sizeof (*v), cmp_cstr);
  for (size_t i = 0; i < n; i++)
    if (i == 0 || strcmp (v[i], v[i - 1]) != 0)
      {
        char *j = NULL;
        xasprintf (&j, "%s%s%s", out, *out ? "," : "", v[i]);
        free (out);
        out = j;
      }
  return out;
}

/* The index's decision at T: its verdict and its denying codes, joined.  */
static char *
codes_at (pg_index *idx, const struct pg_context *ctx, int64_t t, enum pg_verdict *verdict)
{
  struct pg_decision d;
  pg_error_t err = NULL;
  const char **v;
  size_t n = 0;
  char *out;

  if (index_decide (idx, ctx, t, &d, &err) < 0)
    fail_msg ("index_decide at %lld: %s", (long long) t, err->msg);
  v = xmalloc0 ((d.n_reasons + 1) * sizeof (*v));
  for (size_t i = 0; i < d.n_reasons; i++)
    if (d.reasons[i].deny)
      v[n++] = d.reasons[i].code;
  out = join_codes (v, n);
  if (verdict)
    *verdict = d.verdict;
  free (v);
  pg_decision_free (&d);
  checked_instants++;
  return out;
}

static bool
same_name (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

static bool
code_in (const char *list, const char *code)
{
  size_t n = strlen (code);
  for (const char *p = list; (p = strstr (p, code)) != NULL; p += n)
    if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
      return true;
  return false;
}

/* ---- one image ---- */

/* What the report must say of DIGEST at NOW for (NOW, UNTIL]: IM is its
   entry, or NULL.  EXTRA: more instants to try (any; those outside the
   window are skipped).  */
static void
check_image (const char *what, pg_index *idx, const struct pg_context *proto, const char *digest,
             const struct pg_expiring_image *im, int64_t now, int64_t until, const int64_t *extra,
             size_t n_extra)
{
  struct pg_context ctx = *proto;
  cleanup_free char *at_now = NULL;
  enum pg_verdict v_now, v;
  int64_t *ts;
  size_t n_ts = 0;

  ctx.digest = digest;
  ctx.image_ref = NULL;
  at_now = codes_at (idx, &ctx, now, &v_now);
  checked_images++;
  ts = xmalloc0 ((n_extra + 40 + (im ? 3 * im->n_reasons + 2 : 0)) * sizeof (*ts));
  for (size_t i = 0; i < n_extra; i++)
    ts[n_ts++] = extra[i];
  ts[n_ts++] = now + 1;
  ts[n_ts++] = until;
  ts[n_ts++] = until - 1;
  for (int i = 0; i < 30; i++)
    ts[n_ts++] = now + 1 + (int64_t) (rnd () % (uint64_t) (until - now));
  if (im)
    {
      ts[n_ts++] = im->refused_at - 1;
      ts[n_ts++] = im->refused_at;
      for (size_t i = 0; i < im->n_reasons; i++)
        {
          ts[n_ts++] = im->reasons[i].at - 1;
          ts[n_ts++] = im->reasons[i].at;
          ts[n_ts++] = im->reasons[i].at + 1;
        }
    }

  if (im == NULL)
    {
      /* Refused now, or allowed all through the window.  */
      if (v_now == PG_VERDICT_DENY)
        {
          free (ts);
          return;
        }
      for (size_t k = 0; k < n_ts; k++)
        {
          cleanup_free char *c = NULL;
          if (ts[k] <= now || ts[k] > until)
            continue;
          c = codes_at (idx, &ctx, ts[k], &v);
          if (v == PG_VERDICT_DENY)
            fail_msg ("%s: %s is not reported but refused at now%+lld s (%s)", what, digest,
                      (long long) (ts[k] - now), c);
        }
      free (ts);
      return;
    }

  /* Reported: allowed now, refused at refused_at and not the second
     before; each reason absent the second before its instant, present at
     it.  */
  if (v_now == PG_VERDICT_DENY)
    fail_msg ("%s: %s is reported but refused at now already", what, digest);
  if (strcmp (im->digest, digest) != 0)
    fail_msg ("%s: reported as %s, not %s", what, im->digest, digest);
  if (im->refused_at <= now || im->refused_at > until)
    fail_msg ("%s: %s: refused_at now%+lld s, outside the window", what, digest,
              (long long) (im->refused_at - now));
  {
    cleanup_free char *before = codes_at (idx, &ctx, im->refused_at - 1, &v);
    if (v == PG_VERDICT_DENY)
      fail_msg ("%s: %s: refused at T-1 already (T = now%+lld s; %s)", what, digest,
                (long long) (im->refused_at - now), before);
    cleanup_free char *at = codes_at (idx, &ctx, im->refused_at, &v);
    if (v != PG_VERDICT_DENY)
      fail_msg ("%s: %s: not refused at T = now%+lld s (%s)", what, digest,
                (long long) (im->refused_at - now), at);
  }
  if (im->n_reasons == 0 || !im->reasons[0].refuses || im->reasons[0].at != im->refused_at)
    fail_msg ("%s: %s: the first reason is not the refusing one", what, digest);
  for (size_t i = 0; i < im->n_reasons; i++)
    {
      const struct pg_expiring_reason *x = &im->reasons[i];
      cleanup_free char *before = codes_at (idx, &ctx, x->at - 1, NULL);
      cleanup_free char *at = codes_at (idx, &ctx, x->at, NULL);
      if (code_in (before, x->code) || !code_in (at, x->code))
        fail_msg ("%s: %s: %s at now%+lld s: before [%s], at [%s]", what, digest, x->code,
                  (long long) (x->at - now), before, at);
      if (x->refuses != (x->at == im->refused_at))
        fail_msg ("%s: %s: %s: refuses is %d at now%+lld s", what, digest, x->code, x->refuses,
                  (long long) (x->at - now));
      if (i && x->at < im->reasons[i - 1].at)
        fail_msg ("%s: %s: reasons out of order", what, digest);
      if (x->detail == NULL || x->remedy == NULL)
        fail_msg ("%s: %s: %s without detail or remedy", what, digest, x->code);
      reported_reasons++;
    }

  /* Everywhere in the window: the codes at now, plus those reported up to
     then.  */
  for (size_t k = 0; k < n_ts; k++)
    {
      cleanup_free char *got = NULL;
      cleanup_free char *want = NULL;
      const char **v2;
      size_t n = 0;
      char *save, *tok;
      cleanup_free char *copy = xstrdup (at_now);

      if (ts[k] <= now || ts[k] > until)
        continue;
      v2 = xmalloc0 ((im->n_reasons + 32) * sizeof (*v2));
      for (tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
        v2[n++] = tok;
      for (size_t i = 0; i < im->n_reasons; i++)
        if (im->reasons[i].at <= ts[k])
          v2[n++] = im->reasons[i].code;
      want = join_codes (v2, n);
      free (v2);
      got = codes_at (idx, &ctx, ts[k], &v);
      if (strcmp (got, want) != 0)
        fail_msg ("%s: %s at now%+lld s: the index denies for [%s], the report says [%s]", what, digest,
                  (long long) (ts[k] - now), got, want);
      if ((v == PG_VERDICT_DENY) != (ts[k] >= im->refused_at))
        fail_msg ("%s: %s at now%+lld s: verdict %s, refused_at now%+lld s", what, digest,
                  (long long) (ts[k] - now), verdict_name (v), (long long) (im->refused_at - now));
    }
  free (ts);
}

static const struct pg_expiring_image *
reported (const struct pg_expiring *rep, const char *digest)
{
  for (size_t i = 0; i < rep->n_images; i++)
    if (strcmp (rep->images[i].digest, digest) == 0)
      return &rep->images[i];
  return NULL;
}

/* The report's own shape: images by refused_at, the rows by instant, the
   counts.  */
static void
check_report_shape (const char *what, const struct pg_expiring *rep, size_t n_images)
{
  size_t n_rows;
  cleanup_free struct pg_expiring_row *rows = expiring_rows (rep, &n_rows);
  cleanup_json json_t *j = expiring_json (rep);
  size_t total = 0;

  if (rep->examined != n_images)
    fail_msg ("%s: %zu images examined, the index has %zu", what, rep->examined, n_images);
  if (rep->n_images + rep->refused_now > rep->examined)
    fail_msg ("%s: counts do not add up", what);
  for (size_t i = 0; i < rep->n_images; i++)
    {
      total += rep->images[i].n_reasons;
      if (i && rep->images[i].refused_at < rep->images[i - 1].refused_at)
        fail_msg ("%s: images out of order", what);
    }
  assert_int_equal (n_rows, total);
  for (size_t i = 1; i < n_rows; i++)
    if (rows[i].reason->at < rows[i - 1].reason->at)
      fail_msg ("%s: rows out of order", what);
  assert_int_equal (json_array_size (json_object_get (j, "expiring")), n_rows);
  assert_int_equal (json_integer_value (json_object_get (j, "images_expiring")), rep->n_images);
  {
    /* What the CLI writes, entry by entry, is that document.  */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    json_error_t jerr;
    json_t *back;
    assert_non_null (f);
    assert_int_equal (expiring_write_json (rep, f), 0);
    fclose (f);
    back = json_loads (buf, 0, &jerr);
    if (back == NULL || !json_equal (back, j))
      fail_msg ("%s: the written JSON differs (%s):\n%s", what, back ? "content" : jerr.text, buf);
    json_decref (back);
    free (buf);
  }
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

static void
find (const char *what, pg_index *idx, const struct pg_context *ctx, int64_t now, int64_t within,
      struct pg_expiring *rep)
{
  pg_error_t err = NULL;
  if (expiring_find (idx, ctx, now, within, rep, &err) < 0)
    fail_msg ("%s: expiring_find: %s", what, err->msg);
}

static const int64_t windows[] = { 3600, DAY, 7 * DAY, 30 * DAY, 90 * DAY, 365 * DAY, 1000 * DAY };

/* ---- the eval suite ---- */

static void
suite_case (const char *dir, const char *name, const char *index)
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
  char *digests[3];
  size_t n_digests = 0;
  int64_t now;

  if (ij == NULL)
    return; /* no image: nothing in the index to report */
  if (policy_parse_json (pj, name, &policy, &err) < 0)
    fail_msg ("%s: policy: %s", name, err->msg);
  record_from_json (ij, &rec);
  if (xj)
    facts_from_json (xj, &facts);
  context_from_json (cj, name, &ctx);
  now = time_field (cj, "now");
  if (rec.image_id)
    digests[n_digests++] = rec.image_id;
  if (rec.manifest_digest)
    digests[n_digests++] = rec.manifest_digest;
  if (n_digests == 0)
    {
      pg_image_record_free (&rec);
      pg_eval_facts_free (&facts);
      return;
    }
  assert_int_equal (index_writer_start (index, policy, &facts, &w, &err), 0);
  if (index_writer_add_image (w, &rec, &facts, digests, n_digests, &err) < 0)
    fail_msg ("%s: %s", name, err->msg);
  if (index_writer_finish (w, NULL, now, NULL, &err) < 0)
    fail_msg ("%s: %s", name, err->msg);
  idx = open_index (index, NULL);

  /* From well before the case's instant (allowed, often) over windows that
     reach past it.  */
  for (size_t s = 0; s < 6; s++)
    for (size_t k = 0; k < sizeof (windows) / sizeof (windows[0]); k++)
      {
        static const int64_t starts[] = { 0, -DAY, -7 * DAY, -30 * DAY, -200 * DAY, -900 * DAY };
        cleanup_expiring struct pg_expiring rep = { 0 };
        char what[300];
        int64_t t0 = now + starts[s];
        snprintf (what, sizeof (what), "%s from now%+lld s within %lld s", name, (long long) starts[s],
                  (long long) windows[k]);
        find (what, idx, &ctx, t0, windows[k], &rep);
        check_report_shape (what, &rep, 1);
        check_image (what, idx, &ctx, digests[0], reported (&rep, digests[0]), t0, t0 + windows[k], &now, 1);
      }
  index_close (idx);
  pg_image_record_free (&rec);
  pg_eval_facts_free (&facts);
}

static void
test_eval_suite (void **state)
{
  cleanup_free char *root = suite_path ("tests/unit/data/eval");
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_free char *index = index_path_for_db (db);
  size_t n;
  char **cases = suite_cases (root, &n);
  uint64_t before = reported_reasons;

  rng_state = 314;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *dir = NULL;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      suite_case (dir, cases[i], index);
    }
  assert_true (n >= 80);
  strv_free (cases, n);
  print_message ("%llu reasons reported over the eval suite\n",
                 (unsigned long long) (reported_reasons - before));
  assert_true (reported_reasons - before >= 50);
}

/* ---- random policies and images ---- */

static void
expiring_round (int round, const char *index)
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

  for (int k = 0; k < 4; k++)
    {
      cleanup_expiring struct pg_expiring rep = { 0 };
      struct pg_context ctx = { 0 };
      int64_t now = rand_instant (&r, &r.recs[pick (N_IMAGES)]) - (int64_t) pick (60) * DAY;
      int64_t within = windows[pick ((int) (sizeof (windows) / sizeof (windows[0])))];
      char what[200];

      ctx.container_id = "c";
      ctx.engine = "crio";
      ctx.namespace = chance (60) ? PICK (ns_values) : NULL;
      ctx.max_policy_age = chance (50) ? (int64_t) (1 + pick (30)) * DAY : 0;
      ctx.policy_stale = (enum pg_verdict) pick (3);
      snprintf (what, sizeof (what), "random round %d, window %d (ns %s)", round, k,
                ctx.namespace ? ctx.namespace : "-");
      find (what, idx, &ctx, now, within, &rep);
      check_report_shape (what, &rep, N_IMAGES);
      for (int i = 0; i < N_IMAGES; i++)
        {
          const struct pg_expiring_image *im = reported (&rep, r.digests[i][0]);
          int64_t extra[24];
          size_t n_extra = 0;
          /* Where the rules turn for this image, as test_index.c draws
             them.  */
          while (n_extra < sizeof (extra) / sizeof (extra[0]))
            extra[n_extra++] = rand_instant (&r, &r.recs[i]);
          check_image (what, idx, &ctx, r.digests[i][0], im, now, now + within, extra, n_extra);
          if (im)
            {
              /* The names as the database has them.  */
              const struct pg_image_record *rec = &r.recs[i];
              if (!same_name (im->name, rec->n_repo_tags ? rec->repo_tags[0] : NULL)
                  || im->n_repositories != rec->n_repositories)
                fail_msg ("%s: image %d: names", what, i);
              for (size_t q = 0; q < rec->n_repositories; q++)
                assert_string_equal (im->repositories[q], rec->repositories[q]);
            }
        }
    }
  index_close (idx);
  rand_round_free (&r);
}

static void
test_random (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_free char *index = index_path_for_db (db);
  const char *env = getenv ("PG_EXPIRING_RANDOM_ROUNDS");
  int rounds = env ? atoi (env) : 150;
  uint64_t before = reported_reasons, images = checked_images;

  rng_state = 1122;
  for (int round = 0; round < rounds; round++)
    expiring_round (round, index);
  print_message ("%llu images checked, %llu reasons reported at random\n",
                 (unsigned long long) (checked_images - images),
                 (unsigned long long) (reported_reasons - before));
  assert_true (rounds < 150 || reported_reasons - before >= 1000);
}

/* ---- real reports ---- */

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

static void
check_db (const char *name, pg_store *store, const char *db, const char *index)
{
  static const int64_t starts[] = { 1672531200, 1704067200, 1717200000, 1735689600, 1748736000, 1749400000 };
  cleanup_free int64_t *rowids = NULL;
  char **keys = NULL;
  size_t n_rowids = 0, n_keys = 0;
  pg_error_t err = NULL;
  pg_index *idx;

  if (index_compile (store, index, 1000, NULL, &err) < 0)
    fail_msg ("%s: index_compile: %s", name, err->msg);
  idx = open_index (index, db);
  assert_int_equal (store_list_images (store, &rowids, &n_rowids, &err), 0);
  for (size_t i = 0; i < n_rowids; i++)
    {
      char **d = NULL;
      size_t nd = 0;
      assert_int_equal (store_image_digests (store, rowids[i], &d, &nd, &err), 0);
      if (nd)
        strv_append (&keys, &n_keys, d[0]); /* the key of its record */
      strv_free (d, nd);
    }
  for (size_t s = 0; s < sizeof (starts) / sizeof (starts[0]); s++)
    for (size_t ns = 0; ns < 2; ns++)
      {
        cleanup_expiring struct pg_expiring rep = { 0 };
        struct pg_context ctx = { 0 };
        int64_t within = windows[(s + ns) % (sizeof (windows) / sizeof (windows[0]))] * 3;
        char what[200];
        ctx.container_id = "c";
        ctx.engine = "runc";
        ctx.namespace = ns ? "payments" : NULL;
        ctx.max_policy_age = ns ? 0 : 400 * DAY;
        snprintf (what, sizeof (what), "%s from %lld within %lld s", name, (long long) starts[s],
                  (long long) within);
        find (what, idx, &ctx, starts[s], within, &rep);
        check_report_shape (what, &rep, n_keys);
        for (size_t i = 0; i < n_keys; i++)
          check_image (what, idx, &ctx, keys[i], reported (&rep, keys[i]), starts[s], starts[s] + within,
                       NULL, 0);
      }
  index_close (idx);
  strv_free (keys, n_keys);
}

static void
test_reports (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_free char *index = index_path_for_db (db);
  cleanup_free char *example_path = suite_path ("runtime-config/policy.example.json");
  cleanup_free char *example = NULL;
  pg_store *store = NULL;
  pg_error_t err = NULL;
  size_t len;
  uint64_t before = reported_reasons;

  assert_int_equal (store_open (db, PG_STORE_CREATE, &store, &err), 0);
  import_real_reports (store);
  assert_int_equal (read_all_file (example_path, PG_MAX_POLICY_SIZE, &example, &len, &err), 0);
  set_policy (store, example);
  check_db ("example policy", store, db, index);
  set_policy (store, "{\"version\": \"grace\", \"defaults\": {\"max_scan_age\": \"30d\", \"max_image_age\": "
                     "\"900d\", \"fixable_grace\": {\"CRITICAL\": \"7d\", \"HIGH\": \"30d\", \"MEDIUM\": "
                     "\"90d\"}}}");
  check_db ("grace policy", store, db, index);
  rng_state = 77;
  for (int round = 0; round < 10; round++)
    {
      cleanup_json json_t *doc = rand_policy (round);
      cleanup_free char *text = json_dumps (doc, 0);
      set_policy (store, text);
      check_db ("random policy", store, db, index);
    }
  store_close (store);
  print_message ("%llu reasons reported over the real reports\n",
                 (unsigned long long) (reported_reasons - before));
  assert_true (reported_reasons - before >= 10);
}

/* ---- arguments ---- */

static void
test_window (void **state)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_free char *index = index_path_for_db (db);
  struct rand_round r;
  pg_index_writer *w = NULL;
  struct pg_expiring rep;
  struct pg_context ctx = { 0 };
  pg_error_t err = NULL;
  pg_index *idx;

  rng_state = 5;
  rand_round_make (1, &r);
  assert_int_equal (index_writer_start (index, r.policy, &r.globals, &w, &err), 0);
  assert_int_equal (index_writer_finish (w, NULL, BASE, NULL, &err), 0);
  idx = open_index (index, NULL);
  assert_int_equal (expiring_find (idx, &ctx, BASE, 0, &rep, &err), -1);
  pg_error_release (&err);
  assert_int_equal (expiring_find (idx, &ctx, INT64_MAX - 10, 11, &rep, &err), -1);
  pg_error_release (&err);
  /* An empty index: nothing examined, nothing expiring.  */
  assert_int_equal (expiring_find (idx, &ctx, BASE, DAY, &rep, &err), 0);
  assert_int_equal (rep.examined, 0);
  assert_int_equal (rep.n_images, 0);
  expiring_free (&rep);
  index_close (idx);
  rand_round_free (&r);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_eval_suite),
    cmocka_unit_test (test_random),
    cmocka_unit_test (test_reports),
    cmocka_unit_test (test_window),
  };
  int ret = cmocka_run_group_tests (tests, NULL, NULL);
  fprintf (stderr, "# %llu images checked at %llu instants\n", (unsigned long long) checked_images,
           (unsigned long long) checked_instants);
  return ret;
}
