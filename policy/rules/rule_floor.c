/* patchgate: BELOW_MIN_VERSION: a package below the policy's floor for the image's distribution, compared as
 * that distribution's package manager does (version/).  */
#include "rules/rule.h"
#include "rules/scope.h"
#include "rules/waiver.h"
#include "version/version.h"

#include <string.h>

static void
check_one_floor (const struct pg_min_version *m, enum pg_version_scheme scheme, const char *pkg,
                 const char *installed, const struct pg_image_record *rec, const struct pg_rule_env *env,
                 struct pg_decision *d)
{
  cleanup_error pg_error_t verr = NULL;
  struct pg_reason *r;
  int cmp = 0;
  bool bad;

  if (strcmp (m->package, pkg) != 0)
    return;
  /* A version that cannot be compared cannot prove the floor is met.  */
  bad = version_compare (scheme, installed, m->version, &cmp, &verr) < 0;
  if (!bad && cmp >= 0)
    return;
  if (waiver_suspends (env, d, "BELOW_MIN_VERSION", NULL, pkg))
    return;
  r = decision_add_reason (d, "BELOW_MIN_VERSION", true);
  if (bad)
    xasprintf (&r->detail, "%s %s cannot be compared with the minimum %s: %s", pkg, installed, m->version,
               verr->msg);
  else
    xasprintf (&r->detail, "%s %s is below the minimum %s for %s%s%s", pkg, installed, m->version,
               m->distro.family, m->distro.release ? " " : "", m->distro.release ? m->distro.release : "");
  xasprintf (&r->remedy, "rebuild on a base with %s >= %s", pkg, m->version);
  logfmt_append (&r->log_fields, "package", pkg);
  logfmt_append (&r->log_fields, "installed", installed);
  logfmt_append (&r->log_fields, "required", m->version);
}

void
rule_min_versions (const struct pg_rule_env *env, struct pg_decision *d)
{
  const struct pg_policy *p = env->policy;
  const struct pg_image_record *rec = env->rec;
  enum pg_version_scheme scheme;
  cleanup_error pg_error_t serr = NULL;

  if (p->n_min_versions == 0 || rec->os_family == NULL
      || version_scheme_for_distro (rec->os_family, &scheme, &serr) < 0)
    return;
  for (size_t i = 0; i < p->n_min_versions; i++)
    {
      const struct pg_min_version *m = &p->min_versions[i];
      size_t before = d->n_reasons;
      if (!distro_matches (&m->distro, rec->os_family, rec->os_name))
        continue;
      for (size_t j = 0; j < rec->n_packages && d->n_reasons == before; j++)
        check_one_floor (m, scheme, rec->packages[j].name, rec->packages[j].version, rec, env, d);
      for (size_t j = 0; j < rec->n_vulns && d->n_reasons == before; j++)
        if (rec->vulns[j].installed)
          check_one_floor (m, scheme, rec->vulns[j].pkg, rec->vulns[j].installed, rec, env, d);
    }
}
