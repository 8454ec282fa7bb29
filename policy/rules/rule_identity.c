/* patchgate: UNIDENTIFIED: no digest for the container's image (the
 * policy's on_unidentified); UNSCANNED: a digest with no scan record (the
 * scope's `unscanned`).
 */
#include "rules/rule.h"
#include "rules/scope.h"
#include "rules/waiver.h"

#include <string.h>

static void
add_verdict_reason (struct pg_decision *d, const char *code, enum pg_verdict v, const char *detail,
                    const char *remedy)
{
  struct pg_reason *r;
  if (v == PG_VERDICT_ALLOW)
    return;
  r = decision_add_reason (d, code, v == PG_VERDICT_DENY);
  r->detail = xstrdup (detail);
  r->remedy = xstrdup (remedy);
}

void
rule_unidentified (const struct pg_rule_env *env, struct pg_decision *d)
{
  add_verdict_reason (d, "UNIDENTIFIED", env->policy->on_unidentified,
                      "the image of this container could not be identified",
                      "run images pinned by digest, or through an engine patchgate reads (see README)");
}

void
rule_unscanned (const struct pg_rule_env *env, struct pg_decision *d)
{
  cleanup_free char *detail = NULL;
  const char *label = image_label (env->rec, env->ctx);
  enum pg_verdict v = env->rules->unscanned;

  if (env->ctx->digest && strcmp (env->ctx->digest, label) != 0)
    xasprintf (&detail, "image %s (%s) has never been scanned", label, env->ctx->digest);
  else
    xasprintf (&detail, "image %s has never been scanned", label);
  if (waiver_suspends (env, d, "UNSCANNED", NULL, NULL))
    v = PG_VERDICT_ALLOW;
  add_verdict_reason (d, "UNSCANNED", v, detail, "scan it and import the report (patchgate import)");
}
