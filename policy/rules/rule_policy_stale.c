/* patchgate: POLICY_STALE: how old the active policy is.
 *
 * A database activated from a bundle carries the time the admin built the
 * bundle (eval facts: bundle_created).  When the hook config sets
 * max_policy_age and the bundle is older, every decision gets this reason
 * with the configured action (policy_stale: deny, audit or allow; allow
 * only logs).  A database built locally (patchgate import / policy set)
 * has no bundle time, and max_policy_age does not apply to it.
 */
#include "rules/rule.h"
#include "base/clock.h"

#include <string.h>

void
rule_policy_stale (const struct pg_rule_env *env, struct pg_decision *d)
{
  const struct pg_context *ctx = env->ctx;
  int64_t created = env->facts ? env->facts->bundle_created : 0;
  int64_t serial = env->facts ? env->facts->bundle_serial : 0;
  cleanup_free char *fields = NULL;
  char agebuf[32], maxbuf[32], createdbuf[32], serialbuf[32];
  struct pg_reason *r;

  if (ctx->max_policy_age <= 0 || created == 0 || env->now - created <= ctx->max_policy_age)
    return;
  format_duration (env->now - created, agebuf, sizeof (agebuf));
  format_duration (ctx->max_policy_age, maxbuf, sizeof (maxbuf));
  format_rfc3339 (created, createdbuf, sizeof (createdbuf));
  snprintf (serialbuf, sizeof (serialbuf), "%lld", (long long) serial);
  logfmt_append (&fields, "policy_stale", verdict_name (ctx->policy_stale));
  logfmt_append (&fields, "policy_created", createdbuf);
  logfmt_append (&fields, "policy_serial", serialbuf);
  if (ctx->policy_stale == PG_VERDICT_ALLOW)
    {
      /* No reason, but the decision line says so.  */
      decision_add_log_fields (d, fields);
      return;
    }
  r = decision_add_reason (d, "POLICY_STALE", ctx->policy_stale == PG_VERDICT_DENY);
  xasprintf (&r->detail,
             "the policy bundle (serial %lld, created %s) is %s old; the hook config allows %s "
             "(max_policy_age)",
             (long long) serial, createdbuf, agebuf, maxbuf);
  r->remedy = xstrdup ("run `patchgate sync` (check patchgate-sync.timer and the bundle server) "
                       "or activate a newer bundle");
  r->log_fields = xstrdup (fields);
}
