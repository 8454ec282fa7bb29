/* patchgate: the images that pass now and are refused within a window
 * (expiring.h).
 *
 * Why bisection finds the first second: with the data fixed (the index),
 * the set of reason codes that refuse an image only grows with time.  Rule
 * by rule (rules/rule_*.c, in eval.c's order):
 *
 *   REVOKED, REVOKED_BASE, BELOW_MIN_VERSION, UNIDENTIFIED   no clock
 *   UNSCANNED           the scope's verdict, no clock
 *   SCAN_STALE          now - scanned_at > max_scan_age
 *   IMAGE_TOO_OLD       now - created (or first_seen) > max_image_age
 *   FIXABLE_<SEV>       now - fix known > grace, for each finding
 *   SUPERSEDED          now - newer build's first seen > superseded_grace
 *   EOL_OS              now >= the policy's end-of-life date (the
 *                       scanner's EOSL: no clock)
 *   POLICY_STALE        now - bundle created > max_policy_age
 *
 * each true from some second on; what suspends one only ends: a waiver is
 * in force while now < expires (there is no start date), an OpenVEX
 * statement clears a finding while now - issued < vex_max_age, and which
 * statement is the latest does not depend on the clock.  The scope, hence
 * the mode, does not depend on the clock either.  So "the set differs from
 * the set at LO" is false, then true, over (LO, UNTIL]: its first true
 * second is found by bisection, ~log2(window) decisions, and each later
 * growth the same way from there.  A rule that turns a reason off with time
 * (a waiver with a start date, say) would break this: tests/unit/
 * test_expiring.c checks the sets against decisions at instants all over
 * the window, so it fails for such a rule.
 *
 * It also means that an image allowed at NOW and not refused at UNTIL is
 * never refused in between: two decisions settle most images.
 *
 * Fewer decisions: the first second a reason holds is, for every rule above,
 * one of a few instants computed from the record's times and the policy's
 * durations (X + D + 1 for "age > D", X + D for "age >= D", a waiver's
 * expiry, an end-of-life date).  The search bisects over those candidates
 * first, then decides the second before the one it found; when a candidate
 * is missing (a rule not listed here) it bisects the seconds between the two
 * candidates around the change.  Every instant decided for an image is
 * remembered with its codes, and narrows the search for the next growth.
 * The candidates and the memory make it fast; index_decide alone says where
 * each change is, to the second.
 */
#include "expiring/expiring.h"
#include "rules/scope.h"
#include "base/clock.h"

#include <stdlib.h>
#include <string.h>

static void
expiring_image_clear (struct pg_expiring_image *im)
{
  free (im->digest);
  free (im->image_id);
  free (im->name);
  strv_free (im->repositories, im->n_repositories);
  free (im->scope);
  for (size_t i = 0; i < im->n_reasons; i++)
    {
      free (im->reasons[i].code);
      free (im->reasons[i].detail);
      free (im->reasons[i].remedy);
    }
  free (im->reasons);
  memset (im, 0, sizeof (*im));
}

void
expiring_free (struct pg_expiring *r)
{
  for (size_t i = 0; i < r->n_images; i++)
    expiring_image_clear (&r->images[i]);
  free (r->images);
  free (r->namespace);
  memset (r, 0, sizeof (*r));
}

/* ---- one image ---- */

/* The reason codes met so far, each a bit: a decision's denying codes are
   a mask.  eval.c's rules have fewer than twenty codes between them.  */
#define MAX_CODES 64

/* An instant decided, and the codes that denied at it.  */
struct point
{
  int64_t t;
  uint64_t mask;
};

struct search
{
  pg_index *idx;
  struct pg_context ctx;
  uint64_t decisions;
  char *names[MAX_CODES];
  size_t n_names;
  /* Candidate instants in the window, sorted, distinct.  */
  int64_t *cand;
  size_t n_cand, cap_cand;
  /* The image's instants decided so far.  */
  struct point *pts;
  size_t n_pts, cap_pts;
};

static void
search_clear (struct search *s)
{
  for (size_t i = 0; i < s->n_names; i++)
    free (s->names[i]);
  free (s->cand);
  free (s->pts);
}

static int
code_bit (struct search *s, const char *code, uint64_t *bit, pg_error_t *err)
{
  for (size_t i = 0; i < s->n_names; i++)
    if (strcmp (s->names[i], code) == 0)
      {
        *bit = UINT64_C (1) << i;
        return 0;
      }
  if (s->n_names == MAX_CODES)
    return pg_make_error (err, 0, "more than %d reason codes", MAX_CODES);
  s->names[s->n_names] = xstrdup (code);
  *bit = UINT64_C (1) << s->n_names++;
  return 0;
}

/* The decision at T into D, and its denying codes into *MASK; remembered
   for the rest of the image's search.  */
static int
decide (struct search *s, int64_t t, struct pg_decision *d, uint64_t *mask, pg_error_t *err)
{
  s->decisions++;
  *mask = 0;
  if (index_decide (s->idx, &s->ctx, t, d, err) < 0)
    return -1;
  for (size_t i = 0; i < d->n_reasons; i++)
    {
      uint64_t bit;
      if (!d->reasons[i].deny)
        continue;
      if (code_bit (s, d->reasons[i].code, &bit, err) < 0)
        {
          pg_decision_free (d);
          return -1;
        }
      *mask |= bit;
    }
  if (s->n_pts == s->cap_pts)
    {
      s->cap_pts = s->cap_pts ? 2 * s->cap_pts : 64;
      s->pts = xrealloc (s->pts, s->cap_pts * sizeof (*s->pts));
    }
  s->pts[s->n_pts++] = (struct point){ t, *mask };
  return 0;
}

static void
add_candidate (struct search *s, int64_t t, int64_t lo, int64_t hi)
{
  if (t <= lo || t > hi)
    return;
  if (s->n_cand == s->cap_cand)
    {
      s->cap_cand = s->cap_cand ? 2 * s->cap_cand : 64;
      s->cand = xrealloc (s->cand, s->cap_cand * sizeof (*s->cand));
    }
  s->cand[s->n_cand++] = t;
}

/* X + D and the second after it ("age >= D", "age > D"), for a time X and
   a duration D of the rules; an unset time (0) or no limit (-1): none.  */
static void
add_after (struct search *s, int64_t x, int64_t d, int64_t lo, int64_t hi)
{
  if (x == 0 || d < 0 || x > INT64_MAX - d - 1)
    return;
  add_candidate (s, x + d, lo, hi);
  add_candidate (s, x + d + 1, lo, hi);
}

static int
compare_i64 (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return x < y ? -1 : x > y;
}

/* Where the rules of the file comment can turn for image IM, in (LO, HI]:
   its times plus the durations of the rules its scope yields (as
   eval_image selects the scope), the waivers' expiries, the end-of-life
   dates.  */
static void
collect_candidates (struct search *s, const struct pg_index_image *im, int64_t lo, int64_t hi)
{
  const struct pg_policy *policy = im->policy;
  const struct pg_image_record *rec = im->rec;
  struct pg_rules r;
  size_t n = 0;

  s->n_cand = 0;
  policy_select_scope (policy, rec, &s->ctx, &r);
  add_after (s, im->facts->bundle_created, s->ctx.max_policy_age, lo, hi);
  for (size_t i = 0; i < policy->n_waivers; i++)
    add_candidate (s, policy->waivers[i].expires, lo, hi);
  for (size_t i = 0; i < policy->n_eol; i++)
    add_candidate (s, policy->eol[i].date, lo, hi);
  if (rec->has_scan)
    {
      add_after (s, rec->scanned_at, r.max_scan_age, lo, hi);
      add_after (s, rec->created, r.max_image_age, lo, hi);
      add_after (s, rec->first_seen, r.max_image_age, lo, hi);
      add_after (s, im->facts->newer_since, r.superseded_grace, lo, hi);
      for (size_t i = 0; i < rec->n_vulns; i++)
        {
          const struct pg_vuln *v = &rec->vulns[i];
          int sev = (int) v->severity;
          if (v->fixed && sev >= 0 && sev < PG_SEV_COUNT)
            add_after (s, v->fix_known_since ? v->fix_known_since : rec->scanned_at, r.grace[sev], lo, hi);
        }
      for (size_t i = 0; i < rec->n_vex; i++)
        add_after (s, rec->vex[i].issued, r.vex_max_age, lo, hi);
    }
  if (s->n_cand == 0)
    return;
  qsort (s->cand, s->n_cand, sizeof (*s->cand), compare_i64);
  for (size_t i = 0; i < s->n_cand; i++)
    if (n == 0 || s->cand[n - 1] != s->cand[i])
      s->cand[n++] = s->cand[i];
  s->n_cand = n;
}

/* D becomes the decision at the upper end, *AT (if HAVE, the one there is
   dropped).  */
static void
keep (struct pg_decision *at, bool *have, struct pg_decision *d)
{
  if (*have)
    pg_decision_free (at);
  *at = *d;
  *have = true;
}

/* Decide at T within (LO, HI): T becomes LO when the codes are still CUR,
   else HI (and its decision is kept).  */
static int
probe (struct search *s, uint64_t cur, int64_t t, int64_t *lo, int64_t *hi, struct pg_decision *at,
       bool *have, pg_error_t *err)
{
  struct pg_decision d;
  uint64_t mask;
  if (decide (s, t, &d, &mask, err) < 0)
    return -1;
  if (mask == cur)
    {
      *lo = t;
      pg_decision_free (&d);
    }
  else
    {
      *hi = t;
      keep (at, have, &d);
    }
  return 0;
}

/* The first second in (LO, HI] whose codes differ from CUR, knowing that
   HI's do, into *FOUND, and the decision at it into *AT.  */
static int
first_change (struct search *s, uint64_t cur, int64_t lo, int64_t hi, int64_t *found, struct pg_decision *at,
              pg_error_t *err)
{
  bool have = false;
  size_t a = 0, b = s->n_cand;
  uint64_t mask;

  /* What the instants decided already say (the set only grows).  */
  for (size_t i = 0; i < s->n_pts; i++)
    if (s->pts[i].mask != cur && s->pts[i].t > lo && s->pts[i].t < hi)
      hi = s->pts[i].t;
  for (size_t i = 0; i < s->n_pts; i++)
    if (s->pts[i].mask == cur && s->pts[i].t > lo && s->pts[i].t < hi)
      lo = s->pts[i].t;
  /* The candidates inside (LO, HI), bisected.  */
  while (a < b && s->cand[a] <= lo)
    a++;
  while (b > a && s->cand[b - 1] >= hi)
    b--;
  while (a < b)
    {
      size_t m = a + (b - a) / 2;
      if (probe (s, cur, s->cand[m], &lo, &hi, at, &have, err) < 0)
        goto fail;
      if (lo == s->cand[m])
        a = m + 1;
      else
        b = m;
    }
  /* The change is in (LO, HI], most often at HI itself: the second before
     says.  Else the seconds are bisected (a turn no candidate foresaw).  */
  if (hi - lo > 1 && probe (s, cur, hi - 1, &lo, &hi, at, &have, err) < 0)
    goto fail;
  while (hi - lo > 1)
    if (probe (s, cur, lo + (hi - lo) / 2, &lo, &hi, at, &have, err) < 0)
      goto fail;
  *found = hi;
  if (!have)
    {
      struct pg_decision d;
      if (decide (s, hi, &d, &mask, err) < 0)
        return -1;
      keep (at, &have, &d);
    }
  return 0;
fail:
  if (have)
    pg_decision_free (at);
  return -1;
}

static void
add_reason (struct pg_expiring_image *im, int64_t at, const struct pg_reason *r, bool refuses)
{
  struct pg_expiring_reason *x;
  im->reasons = xrealloc (im->reasons, (im->n_reasons + 1) * sizeof (*im->reasons));
  x = &im->reasons[im->n_reasons++];
  x->at = at;
  x->code = xstrdup (r->code);
  x->detail = xstrdup (r->detail);
  x->remedy = xstrdup (r->remedy);
  x->refuses = refuses;
}

/* IMAGE in (NOW, UNTIL]: 1 when it expires (OUT filled), 0 when not
   (*REFUSED_NOW: because it is refused already).  */
static int
search_image (struct search *s, const struct pg_index_image *image, int64_t now, int64_t until,
              struct pg_expiring_image *out, bool *refused_now, pg_error_t *err)
{
  cleanup_decision struct pg_decision first = { 0 };
  cleanup_decision struct pg_decision last = { 0 };
  uint64_t cur, end;
  int64_t lo = now;
  bool refused = false;

  memset (out, 0, sizeof (*out));
  *refused_now = false;
  s->ctx.digest = image->digest;
  s->n_pts = 0;
  if (decide (s, now, &first, &cur, err) < 0)
    return -1;
  if (first.verdict == PG_VERDICT_DENY)
    {
      *refused_now = true;
      return 0;
    }
  if (decide (s, until, &last, &end, err) < 0)
    return -1;
  if (last.verdict != PG_VERDICT_DENY)
    return 0;
  collect_candidates (s, image, now, until);

  out->digest = xstrdup (image->digest);
  out->image_id = xstrdup (last.image_id);
  out->name = xstrdup (last.image_name);
  out->scope = xstrdup (last.scope);
  for (size_t i = 0; i < image->rec->n_repositories; i++)
    strv_append (&out->repositories, &out->n_repositories, image->rec->repositories[i]);
  /* Each growth of the set, until it is the set at UNTIL.  */
  while (cur != end)
    {
      struct pg_decision at;
      uint64_t seen = cur, next = 0;
      int64_t t;
      bool refuses;

      if (first_change (s, cur, lo, until, &t, &at, err) < 0)
        {
          expiring_image_clear (out);
          return -1;
        }
      refuses = !refused && at.verdict == PG_VERDICT_DENY;
      if (refuses)
        {
          refused = true;
          out->refused_at = t;
        }
      for (size_t i = 0; i < at.n_reasons; i++)
        {
          uint64_t bit = 0;
          if (!at.reasons[i].deny)
            continue;
          (void) code_bit (s, at.reasons[i].code, &bit, NULL); /* known: decide met it */
          next |= bit;
          if (!(seen & bit))
            {
              add_reason (out, t, &at.reasons[i], refuses);
              seen |= bit;
            }
        }
      pg_decision_free (&at);
      cur = next;
      lo = t;
    }
  return 1;
}

/* ---- every image ---- */

struct walk
{
  struct search s;
  struct pg_expiring *out;
  int64_t now, until;
};

static int
on_image (const struct pg_index_image *image, void *data, pg_error_t *err)
{
  struct walk *w = data;
  struct pg_expiring_image im;
  bool refused_now;
  int r;

  w->out->examined++;
  r = search_image (&w->s, image, w->now, w->until, &im, &refused_now, err);
  if (r < 0)
    return -1;
  if (refused_now)
    w->out->refused_now++;
  if (r == 1)
    {
      w->out->images = xrealloc (w->out->images, (w->out->n_images + 1) * sizeof (*w->out->images));
      w->out->images[w->out->n_images++] = im;
    }
  return 0;
}

static int
cmp_str (const char *a, const char *b)
{
  return strcmp (a ? a : "", b ? b : "");
}

static int
compare_images (const void *pa, const void *pb)
{
  const struct pg_expiring_image *a = pa, *b = pb;
  int c;
  if (a->refused_at != b->refused_at)
    return a->refused_at < b->refused_at ? -1 : 1;
  c = cmp_str (a->name, b->name);
  return c ? c : cmp_str (a->digest, b->digest);
}

int
expiring_find (pg_index *idx, const struct pg_context *ctx, int64_t now, int64_t within,
               struct pg_expiring *out, pg_error_t *err)
{
  struct walk w;
  int r;

  memset (out, 0, sizeof (*out));
  if (within <= 0 || now > INT64_MAX - within)
    return pg_make_error (err, 0,
                          "the window must be a positive duration (and end before the clock overflows)");
  memset (&w, 0, sizeof (w));
  w.s.idx = idx;
  w.s.ctx = *ctx;
  /* Each image as the database names it: no engine's name.  */
  w.s.ctx.image_ref = NULL;
  w.out = out;
  w.now = now;
  w.until = now + within;
  out->now = now;
  out->until = now + within;
  out->namespace = ctx->namespace ? xstrdup (ctx->namespace) : NULL;
  r = index_foreach_image (idx, on_image, &w, err);
  search_clear (&w.s);
  out->decisions = w.s.decisions;
  if (r < 0)
    {
      expiring_free (out);
      return -1;
    }
  if (out->n_images > 1)
    qsort (out->images, out->n_images, sizeof (*out->images), compare_images);
  return 0;
}

/* ---- output ---- */

static int
compare_rows (const void *pa, const void *pb)
{
  const struct pg_expiring_row *a = pa, *b = pb;
  int c;
  if (a->reason->at != b->reason->at)
    return a->reason->at < b->reason->at ? -1 : 1;
  c = compare_images (a->image, b->image);
  if (c)
    return c;
  return a->reason < b->reason ? -1 : a->reason > b->reason;
}

struct pg_expiring_row *
expiring_rows (const struct pg_expiring *r, size_t *n)
{
  struct pg_expiring_row *rows;
  size_t k = 0;

  *n = 0;
  for (size_t i = 0; i < r->n_images; i++)
    *n += r->images[i].n_reasons;
  rows = xmalloc0 ((*n ? *n : 1) * sizeof (*rows));
  for (size_t i = 0; i < r->n_images; i++)
    for (size_t j = 0; j < r->images[i].n_reasons; j++)
      rows[k++] = (struct pg_expiring_row){ &r->images[i], &r->images[i].reasons[j] };
  if (*n > 1)
    qsort (rows, *n, sizeof (*rows), compare_rows);
  return rows;
}

static json_t *
time_json (int64_t t)
{
  char buf[32];
  format_rfc3339 (t, buf, sizeof (buf));
  return json_string (buf);
}

static json_t *
str_json (const char *s)
{
  return s ? json_string (s) : json_null ();
}

static json_t *
head_json (const struct pg_expiring *r)
{
  json_t *j = json_object ();
  json_object_set_new (j, "now", time_json (r->now));
  json_object_set_new (j, "until", time_json (r->until));
  json_object_set_new (j, "within_seconds", json_integer (r->until - r->now));
  json_object_set_new (j, "namespace", str_json (r->namespace));
  json_object_set_new (j, "images_examined", json_integer ((json_int_t) r->examined));
  json_object_set_new (j, "images_refused_now", json_integer ((json_int_t) r->refused_now));
  json_object_set_new (j, "images_expiring", json_integer ((json_int_t) r->n_images));
  return j;
}

static json_t *
row_json (const struct pg_expiring *r, const struct pg_expiring_row *row)
{
  const struct pg_expiring_image *im = row->image;
  const struct pg_expiring_reason *x = row->reason;
  json_t *e = json_object (), *repos = json_array ();

  for (size_t k = 0; k < im->n_repositories; k++)
    json_array_append_new (repos, json_string (im->repositories[k]));
  json_object_set_new (e, "at", time_json (x->at));
  json_object_set_new (e, "in_seconds", json_integer (x->at - r->now));
  json_object_set_new (e, "code", json_string (x->code));
  json_object_set_new (e, "detail", str_json (x->detail));
  json_object_set_new (e, "remedy", str_json (x->remedy));
  json_object_set_new (e, "refuses", json_boolean (x->refuses));
  json_object_set_new (e, "digest", json_string (im->digest));
  json_object_set_new (e, "image_id", str_json (im->image_id));
  json_object_set_new (e, "name", str_json (im->name));
  json_object_set_new (e, "repositories", repos);
  json_object_set_new (e, "scope", str_json (im->scope));
  json_object_set_new (e, "refused_at", time_json (im->refused_at));
  return e;
}

json_t *
expiring_json (const struct pg_expiring *r)
{
  json_t *j = head_json (r), *list = json_array ();
  size_t n;
  cleanup_free struct pg_expiring_row *rows = expiring_rows (r, &n);

  for (size_t i = 0; i < n; i++)
    json_array_append_new (list, row_json (r, &rows[i]));
  json_object_set_new (j, "expiring", list);
  return j;
}

/* S (one JSON value, indented by 2 from column 0) at DEPTH levels of 2.  */
static int
put_indented (FILE *out, const char *s, int depth)
{
  for (; *s; s++)
    {
      if (putc (*s, out) == EOF)
        return -1;
      if (*s == '\n' && fprintf (out, "%*s", 2 * depth, "") < 0)
        return -1;
    }
  return 0;
}

int
expiring_write_json (const struct pg_expiring *r, FILE *out)
{
  cleanup_json json_t *head = head_json (r);
  size_t n;
  cleanup_free struct pg_expiring_row *rows = expiring_rows (r, &n);
  cleanup_free char *h = json_dumps (head, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  size_t len;

  /* The head without its closing brace, then the entries one by one: a
     report of every image of a large index is never one tree in memory.  */
  if (h == NULL)
    return -1;
  len = strlen (h);
  while (len && h[len - 1] != '}')
    len--;
  if (len)
    len--;
  while (len && (h[len - 1] == '\n' || h[len - 1] == ' '))
    len--;
  if (fwrite (h, 1, len, out) != len || fputs (",\n  \"expiring\": [", out) == EOF)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_json json_t *e = row_json (r, &rows[i]);
      cleanup_free char *text = json_dumps (e, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
      if (text == NULL || fputs (i ? ",\n    " : "\n    ", out) == EOF || put_indented (out, text, 2) < 0)
        return -1;
    }
  if (fputs (n ? "\n  ]\n}\n" : "]\n}\n", out) == EOF)
    return -1;
  return 0;
}
