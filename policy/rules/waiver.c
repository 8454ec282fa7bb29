/* patchgate: waivers: scoped by digest, repository and namespace, naming a
 * vulnerability, a package or a reason code, in force until their expiry.
 */
#include "rules/waiver.h"
#include "rules/scope.h"

#include <string.h>

static bool
waiver_scope_applies (const struct pg_waiver *w, const struct pg_rule_env *env)
{
  if (w->digest && !image_has_digest (env->rec, env->ctx, w->digest))
    return false;
  return match_applies (&w->match, env->rec, env->ctx);
}

void
waiver_note (char ***list, size_t *n, const char *id)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*list)[i], id) == 0)
      return;
  strv_append (list, n, id);
}

bool
waiver_suspends (const struct pg_rule_env *env, struct pg_decision *d, const char *code, const char *cve,
                 const char *package)
{
  bool hit = false;
  for (size_t i = 0; i < env->policy->n_waivers; i++)
    {
      const struct pg_waiver *w = &env->policy->waivers[i];
      bool names;
      if (!waiver_scope_applies (w, env))
        continue;
      if (w->reason_code)
        names = strcmp (w->reason_code, code) == 0 && (!w->cve || (cve && strcmp (w->cve, cve) == 0))
                && (!w->package || (package && strcmp (w->package, package) == 0));
      else
        names = (w->cve || w->package) && (!w->cve || (cve && strcmp (w->cve, cve) == 0))
                && (!w->package || (package && strcmp (w->package, package) == 0));
      if (!names)
        continue;
      /* A waiver is in force up to, not including, its expiry second.  */
      if (env->now < w->expires)
        {
          waiver_note (&d->waivers_applied, &d->n_waivers_applied, w->id);
          hit = true;
        }
      else
        waiver_note (&d->waivers_expired, &d->n_waivers_expired, w->id);
    }
  return hit;
}
