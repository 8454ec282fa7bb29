/* patchgate: SUPERSEDED: a newer scanned build of the same repository:tag exists and the grace period is over
 * ("use the latest image").  */
#include "rules/rule.h"
#include "rules/scope.h"
#include "rules/waiver.h"
#include "base/clock.h"

#include <string.h>

void
rule_superseded (const struct pg_rule_env *env, struct pg_decision *d)
{
  const struct pg_rules *rules = env->rules;
  const struct pg_eval_facts *x = env->facts;
  int64_t now = env->now;
  char grace[32], since[32];
  struct pg_reason *r;

  if (rules->superseded_grace < 0 || x == NULL || x->newer_digest == NULL
      || now - x->newer_since <= rules->superseded_grace
      || waiver_suspends (env, d, "SUPERSEDED", NULL, NULL))
    return;
  format_duration (rules->superseded_grace, grace, sizeof (grace));
  format_rfc3339 (x->newer_since, since, sizeof (since));
  r = decision_add_reason (d, "SUPERSEDED", true);
  xasprintf (&r->detail, "a newer build of %s (%s) exists since %s; the grace period of %s is over",
             x->newer_name, x->newer_digest, since, grace);
  xasprintf (&r->remedy, "use the latest image: %s@%s", x->newer_name, x->newer_digest);
  logfmt_append (&r->log_fields, "newer", x->newer_digest);
}
