/* patchgate: EOL_OS: the image's OS release is past its end of life, by the scanner (Trivy's EOSL) or by the
 * policy's eol table.  */
#include "rules/rule.h"
#include "rules/scope.h"
#include "rules/waiver.h"
#include "base/clock.h"

#include <string.h>

static void
add_eol_reason (const struct pg_image_record *rec, const char *why, struct pg_decision *d)
{
  struct pg_reason *r = decision_add_reason (d, "EOL_OS", true);
  xasprintf (&r->detail, "%s %s is past its end of life (%s)", rec->os_family ? rec->os_family : "the OS",
             rec->os_name ? rec->os_name : "", why);
  xasprintf (&r->remedy, "rebuild on a supported release");
  logfmt_append (&r->log_fields, "os", rec->os_name);
}

void
rule_eol (const struct pg_rule_env *env, struct pg_decision *d)
{
  const struct pg_policy *p = env->policy;
  const struct pg_image_record *rec = env->rec;
  int64_t now = env->now;

  if (rec->eosl)
    {
      if (!waiver_suspends (env, d, "EOL_OS", NULL, NULL))
        add_eol_reason (rec, "the scanner says so", d);
      return;
    }
  for (size_t i = 0; i < p->n_eol; i++)
    if (now >= p->eol[i].date && distro_matches (&p->eol[i].distro, rec->os_family, rec->os_name))
      {
        char when[32];
        cleanup_free char *why = NULL;
        if (waiver_suspends (env, d, "EOL_OS", NULL, NULL))
          return;
        format_rfc3339 (p->eol[i].date, when, sizeof (when));
        xasprintf (&why, "the policy's end of life for %s %s is %s", p->eol[i].distro.family,
                   p->eol[i].distro.release, when);
        add_eol_reason (rec, why, d);
        return;
      }
}
