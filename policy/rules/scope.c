/* patchgate: scopes, and what a policy match names.  */
#include "rules/scope.h"
#include "base/digest.h"

#include <fnmatch.h>
#include <string.h>

static bool
glob_match (const char *pattern, const char *s)
{
  return pattern && s && fnmatch (pattern, s, 0) == 0;
}

/* Which names a match may read.  The repositories under which imported
   scans recorded the image are the admin's facts; the engine's name for the
   image (ctx->image_ref) can come from a local tag or an annotation, which
   whoever starts the container chose.  */
enum name_trust
{
  NAMES_ADMIN,          /* scanned repositories only */
  NAMES_ADMIN_OR_TENANT /* and the engine's name */
};

static bool
repository_matches (const char *pattern, const struct pg_image_record *rec, const struct pg_context *ctx,
                    enum name_trust trust)
{
  cleanup_free char *repo = NULL;

  for (size_t i = 0; rec && i < rec->n_repositories; i++)
    if (glob_match (pattern, rec->repositories[i]))
      return true;
  if (trust == NAMES_ADMIN_OR_TENANT && ctx->image_ref
      && image_ref_parse (ctx->image_ref, &repo, NULL, NULL) == 0)
    return glob_match (pattern, repo) || glob_match (pattern, ctx->image_ref);
  return false;
}

static bool
match_names (const struct pg_match *m, const struct pg_image_record *rec, const struct pg_context *ctx,
             enum name_trust trust)
{
  if (m->namespace && !glob_match (m->namespace, ctx->namespace))
    return false;
  if (m->repository && !repository_matches (m->repository, rec, ctx, trust))
    return false;
  return true;
}

bool
match_applies (const struct pg_match *m, const struct pg_image_record *rec, const struct pg_context *ctx)
{
  return match_names (m, rec, ctx, NAMES_ADMIN);
}

/* Literal characters outrank wildcards: a longer literal prefix is more
   specific than a shorter one followed by a star.  */
static int
pattern_weight (const char *p)
{
  int w = 0;
  for (; p && *p; p++)
    if (*p != '*' && *p != '?' && *p != '[')
      w++;
  return w;
}

static void
overlay_rules (struct pg_rules *dst, const struct pg_rules *src)
{
  if (src->has_mode)
    dst->mode = src->mode;
  if (src->has_unscanned)
    dst->unscanned = src->unscanned;
  if (src->has_max_scan_age)
    dst->max_scan_age = src->max_scan_age;
  if (src->has_max_image_age)
    dst->max_image_age = src->max_image_age;
  for (int i = 0; i < PG_SEV_COUNT; i++)
    if (src->has_grace[i])
      dst->grace[i] = src->grace[i];
  if (src->has_superseded_grace)
    dst->superseded_grace = src->superseded_grace;
  if (src->has_vex_max_age)
    dst->vex_max_age = src->vex_max_age;
  if (src->has_vex_repository_products)
    dst->vex_repository_products = src->vex_repository_products;
}

static bool
longer (int64_t scope, int64_t defaults)
{
  /* -1 is "no limit", the longest of all.  */
  return defaults >= 0 && (scope < 0 || scope > defaults);
}

bool
scope_is_softer (const struct pg_scope *s, const struct pg_rules *defaults)
{
  struct pg_rules r = *defaults;

  overlay_rules (&r, &s->rules);
  if (r.mode != defaults->mode && (r.mode == PG_MODE_OFF || defaults->mode == PG_MODE_ENFORCE))
    return true;
  if (r.unscanned != defaults->unscanned
      && (r.unscanned == PG_VERDICT_ALLOW || defaults->unscanned == PG_VERDICT_DENY))
    return true;
  if (longer (r.max_scan_age, defaults->max_scan_age) || longer (r.max_image_age, defaults->max_image_age)
      || longer (r.superseded_grace, defaults->superseded_grace))
    return true;
  for (int i = 0; i < PG_SEV_COUNT; i++)
    if (longer (r.grace[i], defaults->grace[i]))
      return true;
  /* VEX honoured (or longer, or by repository) where the defaults do not.  */
  return r.vex_max_age > defaults->vex_max_age
         || (r.vex_repository_products && !defaults->vex_repository_products);
}

const struct pg_scope *
policy_select_scope (const struct pg_policy *policy, const struct pg_image_record *rec,
                     const struct pg_context *ctx, struct pg_rules *rules)
{
  const struct pg_scope *best = NULL;
  int best_fields = -1, best_weight = -1;

  for (size_t i = 0; i < policy->n_scopes; i++)
    {
      const struct pg_scope *s = &policy->scopes[i];
      int fields, weight;
      /* A name the container's starter chose may select a stricter scope,
         never a softer one.  */
      if (!match_names (&s->match, rec, ctx, NAMES_ADMIN)
          && !(match_names (&s->match, rec, ctx, NAMES_ADMIN_OR_TENANT)
               && !scope_is_softer (s, &policy->defaults)))
        continue;
      fields = (s->match.namespace != NULL) + (s->match.repository != NULL);
      weight = pattern_weight (s->match.namespace) + pattern_weight (s->match.repository);
      /* Most specific wins; on a tie the first in the file does.  */
      if (fields > best_fields || (fields == best_fields && weight > best_weight))
        {
          best = s;
          best_fields = fields;
          best_weight = weight;
        }
    }
  *rules = policy->defaults;
  if (best)
    overlay_rules (rules, &best->rules);
  return best;
}

bool
image_has_digest (const struct pg_image_record *rec, const struct pg_context *ctx, const char *digest)
{
  /* Any identity: podman, Docker and CRI-O report the image ID, the admin
     may have written the manifest or a repo digest (or the other way
     round), and all name the same image.  */
  if (ctx->digest && strcmp (ctx->digest, digest) == 0)
    return true;
  if (rec == NULL)
    return false;
  if ((rec->image_id && strcmp (rec->image_id, digest) == 0)
      || (rec->manifest_digest && strcmp (rec->manifest_digest, digest) == 0))
    return true;
  for (size_t i = 0; i < rec->n_digests; i++)
    if (strcmp (rec->digests[i], digest) == 0)
      return true;
  return false;
}

const char *
image_label (const struct pg_image_record *rec, const struct pg_context *ctx)
{
  if (ctx->image_ref)
    return ctx->image_ref;
  if (rec && rec->n_repo_tags)
    return rec->repo_tags[0];
  if (ctx->digest)
    return ctx->digest;
  return rec && rec->image_id ? rec->image_id : "(unknown)";
}
