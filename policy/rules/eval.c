/* patchgate: evaluation: the rule table, run over one image.  */
#include "rules/eval.h"
#include "rules/rule.h"
#include "rules/scope.h"

#include <string.h>

/* Which images a rule looks at.  */
enum pg_rule_images
{
  PG_RULE_EVERY,        /* every decision, identified or not */
  PG_RULE_UNIDENTIFIED, /* no digest */
  PG_RULE_UNSCANNED,    /* a digest without a scan record */
  PG_RULE_SCANNED,      /* a digest with one */
};

/* The rules, in the order their reasons are listed.  */
static const struct
{
  pg_rule_fn fn;
  enum pg_rule_images images;
} rule_table[] = {
  { rule_revoked, PG_RULE_EVERY },       { rule_unidentified, PG_RULE_UNIDENTIFIED },
  { rule_unscanned, PG_RULE_UNSCANNED }, { rule_revoked_base, PG_RULE_SCANNED },
  { rule_scan_age, PG_RULE_SCANNED },    { rule_image_age, PG_RULE_SCANNED },
  { rule_fixable, PG_RULE_SCANNED },     { rule_min_versions, PG_RULE_SCANNED },
  { rule_superseded, PG_RULE_SCANNED },  { rule_eol, PG_RULE_SCANNED },
  { rule_policy_stale, PG_RULE_EVERY },
};

static enum pg_rule_images
image_kind (const struct pg_image_record *rec, const struct pg_context *ctx)
{
  if (ctx->digest == NULL && rec == NULL)
    return PG_RULE_UNIDENTIFIED;
  if (rec == NULL || !rec->has_scan)
    return PG_RULE_UNSCANNED;
  return PG_RULE_SCANNED;
}

int
eval_image (const struct pg_policy *policy, const struct pg_image_record *rec,
            const struct pg_eval_facts *facts, const struct pg_context *ctx, int64_t now,
            struct pg_decision *out, pg_error_t *err)
{
  struct pg_rules rules;
  const struct pg_scope *scope;
  struct pg_rule_env env = { policy, &rules, rec, facts, ctx, now };
  enum pg_rule_images kind = image_kind (rec, ctx);

  memset (out, 0, sizeof (*out));
  scope = policy_select_scope (policy, rec, ctx, &rules);
  out->mode = rules.mode;
  out->scope = xstrdup (scope ? scope->name : "defaults");
  out->policy_version = xstrdup (policy->version);
  if (rec)
    {
      out->image_id = xstrdup (rec->image_id);
      out->image_name = xstrdup (rec->n_repo_tags ? rec->repo_tags[0] : NULL);
    }
  for (size_t i = 0; i < sizeof (rule_table) / sizeof (rule_table[0]); i++)
    if (rule_table[i].images == PG_RULE_EVERY || rule_table[i].images == kind)
      rule_table[i].fn (&env, out);
  decision_settle_verdict (out);
  return 0;
}
