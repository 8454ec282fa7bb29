/* patchgate: REVOKED: digests the policy revokes; REVOKED_BASE: images built on a revoked base, known by its
 * layer DiffIDs starting the image's.  */
#include "rules/rule.h"
#include "rules/scope.h"
#include "rules/waiver.h"

#include <string.h>

void
rule_revoked (const struct pg_rule_env *env, struct pg_decision *d)
{
  const struct pg_policy *p = env->policy;
  const struct pg_image_record *rec = env->rec;
  const struct pg_context *ctx = env->ctx;

  for (size_t i = 0; i < p->n_revoked_digests; i++)
    if (image_has_digest (rec, ctx, p->revoked_digests[i]))
      {
        struct pg_reason *r = decision_add_reason (d, "REVOKED", true);
        xasprintf (&r->detail, "digest %s is revoked by the policy", p->revoked_digests[i]);
        xasprintf (&r->remedy, "use a different build of %s", image_label (rec, ctx));
        logfmt_append (&r->log_fields, "revoked", p->revoked_digests[i]);
        return;
      }
}

void
rule_revoked_base (const struct pg_rule_env *env, struct pg_decision *d)
{
  const struct pg_eval_facts *x = env->facts;
  const struct pg_image_record *rec = env->rec;

  for (size_t i = 0; x && i < x->n_bases; i++)
    {
      size_t n = x->bases[i].n_diff_ids;
      bool prefix = n > 0 && n <= rec->n_diff_ids;
      for (size_t j = 0; prefix && j < n; j++)
        prefix = strcmp (x->bases[i].diff_ids[j], rec->diff_ids[j]) == 0;
      if (prefix)
        {
          struct pg_reason *r = decision_add_reason (d, "REVOKED_BASE", true);
          xasprintf (&r->detail, "built on revoked base image %s (its %zu layers start this image)",
                     x->bases[i].digest, n);
          xasprintf (&r->remedy, "rebuild on a base image that is not revoked");
          logfmt_append (&r->log_fields, "revoked_base", x->bases[i].digest);
        }
    }
}
