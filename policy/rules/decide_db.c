/* patchgate: the decision read straight from the store (SQLite): what the
 * decision index (index/) is compiled from, and what the differential tests
 * compare it with.  The hook and `patchgate check` decide from the index.
 */
#include "rules/eval.h"
#include "rules/policy_cache.h"
#include "store/meta.h"

#include <string.h>

int
decide_load_revoked_bases (pg_store *store, const struct pg_policy *policy, struct pg_eval_facts *x,
                           pg_error_t *err)
{
  for (size_t i = 0; i < policy->n_revoked_bases; i++)
    {
      /* Only the base's layers matter: not its scans and findings.  */
      char **diff_ids = NULL;
      size_t n_diff_ids = 0;
      int r = store_lookup_diff_ids (store, policy->revoked_bases[i], &diff_ids, &n_diff_ids, err);
      if (r < 0)
        return -1;
      if (r == 0)
        continue; /* a base never scanned here has no known layers */
      x->bases = xrealloc (x->bases, (x->n_bases + 1) * sizeof (*x->bases));
      x->bases[x->n_bases].digest = xstrdup (policy->revoked_bases[i]);
      x->bases[x->n_bases].diff_ids = diff_ids;
      x->bases[x->n_bases].n_diff_ids = n_diff_ids;
      x->n_bases++;
    }
  return 0;
}

/* Evaluation reads a record's packages only for the floors
   (check_min_versions): records load just the packages they name.  */
static void
filter_floor_packages (pg_store *store, const struct pg_policy *policy)
{
  const char **names = xmalloc0 ((policy->n_min_versions + 1) * sizeof (*names));
  for (size_t i = 0; i < policy->n_min_versions; i++)
    names[i] = policy->min_versions[i].package;
  store_set_package_filter (store, names, policy->n_min_versions);
  free (names);
}

/* What the store knows beyond the image's record: a newer build of it, the
   layers of the revoked bases, the bundle the database came from.  REC is
   NULL for an image the store does not know.  */
static int
load_facts (pg_store *store, const struct pg_policy *policy, const struct pg_image_record *rec,
            struct pg_eval_facts *facts, pg_error_t *err)
{
  if (rec && rec->has_scan)
    {
      int r = store_find_newer_build (store, rec, &facts->newer_digest, &facts->newer_name,
                                      &facts->newer_since, err);
      if (r < 0 || decide_load_revoked_bases (store, policy, facts, err) < 0)
        return -1;
    }
  if (store_meta_get_int (store, "bundle_created", &facts->bundle_created, err) < 0
      || store_meta_get_int (store, "bundle_serial", &facts->bundle_serial, err) < 0)
    return -1;
  return 0;
}

/* The one decision over the store, in one read transaction: the policy,
   the record (LOAD: looked up by digest, or made from a scan), the facts,
   the rule table.  */
typedef int (*load_record_fn) (pg_store *store, const void *what, int64_t now, struct pg_image_record *rec,
                               pg_error_t *err);

static int
decide_with (pg_store *store, load_record_fn load, const void *what, const struct pg_context *ctx,
             int64_t now, struct pg_decision *out, pg_error_t *err)
{
  cleanup_policy struct pg_policy *policy = NULL;
  struct pg_image_record rec;
  struct pg_eval_facts facts = { 0 };
  int found = 0, ret = -1;

  memset (&rec, 0, sizeof (rec));
  if (store_begin (store, false, err) < 0)
    return -1;
  if (policy_load_cached (store, &policy, err) < 0)
    goto out;
  filter_floor_packages (store, policy);
  found = load (store, what, now, &rec, err);
  store_set_package_filter (store, NULL, 0);
  if (found < 0 || load_facts (store, policy, found ? &rec : NULL, &facts, err) < 0)
    goto out;
  ret = eval_image (policy, found ? &rec : NULL, &facts, ctx, now, out, err);
out:
  store_rollback (store);
  pg_image_record_free (&rec);
  pg_eval_facts_free (&facts);
  return ret;
}

static int
load_by_digest (pg_store *store, const void *what, int64_t now, struct pg_image_record *rec, pg_error_t *err)
{
  const struct pg_context *ctx = what;
  return ctx->digest ? store_lookup_digest (store, ctx->digest, rec, err) : 0;
}

static int
load_from_scan (pg_store *store, const void *what, int64_t now, struct pg_image_record *rec, pg_error_t *err)
{
  return store_record_from_scan (store, what, now, rec, err) < 0 ? -1 : 1;
}

int
decide_image (pg_store *store, const struct pg_context *ctx, int64_t now, struct pg_decision *out,
              pg_error_t *err)
{
  return decide_with (store, load_by_digest, ctx, ctx, now, out, err);
}

int
decide_scan (pg_store *store, const struct pg_scan *scan, const struct pg_context *ctx, int64_t now,
             struct pg_decision *out, pg_error_t *err)
{
  return decide_with (store, load_from_scan, scan, ctx, now, out, err);
}
