/* patchgate: FIXABLE_<SEVERITY>: a vulnerability with a fix, fixable for longer than the grace period of its
 * severity, unless a waiver or an OpenVEX statement clears it.  */
#include "rules/rule.h"
#include "rules/scope.h"
#include "rules/vex.h"
#include "rules/waiver.h"
#include "base/clock.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Scanner words for "a fix exists but will not be shipped" or "not
   affected": such findings are not fixable whatever version is named.  */
bool
fixable_status_blocks_fix (const char *status)
{
  /* One list for the evaluator and the importers' merge (store.h).  */
  return pg_fix_status_blocks (status);
}

/* "libfoo >= 1.2-3, libbar >= 2.0-1": what a rebuild must bring, each
   package once, at most four named.  */
static void
append_upgrade (char **list, size_t *n, const struct pg_vuln *v)
{
  cleanup_free char *item = NULL;
  char *joined = NULL;

  /* Of several fixed versions (one per release branch), the one above the
     installed version, when the importer could tell (pg_vuln.remedy).  */
  xasprintf (&item, "%s >= %s", v->pkg, v->remedy ? v->remedy : v->fixed);
  if (*list && strstr (*list, item))
    return;
  if (++*n > 4)
    return;
  xasprintf (&joined, "%s%s%s", *list ? *list : "", *list ? ", " : "", item);
  free (*list);
  *list = joined;
}

void
rule_fixable (const struct pg_rule_env *env, struct pg_decision *d)
{
  const struct pg_rules *rules = env->rules;
  const struct pg_image_record *rec = env->rec;
  int64_t now = env->now;

  for (int sev = PG_SEV_COUNT - 1; sev >= 0; sev--)
    {
      cleanup_free char *cves = NULL;
      cleanup_free char *example = NULL;
      cleanup_free char *upgrades = NULL;
      size_t count = 0, n_upgrades = 0;
      int64_t oldest = now;
      const char *oldest_source = NULL;
      char code[32], grace[32], since[32];
      struct pg_reason *r;

      if (rules->grace[sev] < 0)
        continue;
      for (size_t i = 0; i < rec->n_vulns; i++)
        {
          const struct pg_vuln *v = &rec->vulns[i];
          int64_t known = v->fix_known_since ? v->fix_known_since : rec->scanned_at;
          if ((int) v->severity != sev || v->fixed == NULL || fixable_status_blocks_fix (v->status))
            continue;
          if (now - known <= rules->grace[sev])
            continue;
          snprintf (code, sizeof (code), "FIXABLE_%s", severity_name (v->severity));
          if (waiver_suspends (env, d, code, v->id, v->pkg) || vex_clears (env, v, d))
            continue;
          if (known < oldest)
            {
              oldest = known;
              oldest_source = v->fix_known_since ? v->fix_known_source : NULL;
            }
          if (count < 8)
            {
              char *n = NULL;
              xasprintf (&n, "%s%s%s", cves ? cves : "", cves ? "," : "", v->id);
              free (cves);
              cves = n;
            }
          if (example == NULL)
            xasprintf (&example, "%s %s (installed %s, fixed in %s)", v->id, v->pkg,
                       v->installed ? v->installed : "?", v->fixed);
          append_upgrade (&upgrades, &n_upgrades, v);
          count++;
        }
      if (count == 0)
        continue;
      snprintf (code, sizeof (code), "FIXABLE_%s", severity_name ((enum pg_severity) sev));
      format_duration (rules->grace[sev], grace, sizeof (grace));
      format_rfc3339 (oldest, since, sizeof (since));
      r = decision_add_reason (d, code, true);
      xasprintf (&r->detail,
                 "%zu %s vulnerabilit%s fixable for longer than %s (oldest fix known since %s%s%s), e.g. %s",
                 count, severity_name ((enum pg_severity) sev), count == 1 ? "y" : "ies", grace, since,
                 oldest_source ? ", " : "", oldest_source ? oldest_source : "", example);
      xasprintf (&r->remedy, "rebuild the image with %s%s", upgrades, n_upgrades > 4 ? " and more" : "");
      {
        char key[32];
        snprintf (key, sizeof (key), "cves_%s", severity_name ((enum pg_severity) sev));
        for (char *k = key; *k; k++)
          *k = (char) tolower ((unsigned char) *k);
        logfmt_append (&r->log_fields, key, cves);
      }
    }
}
