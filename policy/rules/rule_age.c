/* patchgate: SCAN_STALE: the newest scan is older than max_scan_age; IMAGE_TOO_OLD: the image was built (or,
 * for reproducible builds, first seen) longer ago than max_image_age.  */
#include "rules/rule.h"
#include "rules/scope.h"
#include "rules/waiver.h"
#include "base/clock.h"

#include <string.h>

/* Reproducible builds stamp 1970 or 1980: such a build time says nothing. */
#define PG_MEANINGFUL_BUILD_TIME 347155200 /* 1981-01-01T00:00:00Z */

void
rule_scan_age (const struct pg_rule_env *env, struct pg_decision *d)
{
  const struct pg_rules *rules = env->rules;
  const struct pg_image_record *rec = env->rec;
  const struct pg_context *ctx = env->ctx;
  int64_t now = env->now;
  int64_t age = now - rec->scanned_at;
  char when[32], ago[32], max[32];
  struct pg_reason *r;

  if (rules->max_scan_age < 0 || age <= rules->max_scan_age
      || waiver_suspends (env, d, "SCAN_STALE", NULL, NULL))
    return;
  format_rfc3339 (rec->scanned_at, when, sizeof (when));
  format_duration (age, ago, sizeof (ago));
  format_duration (rules->max_scan_age, max, sizeof (max));
  r = decision_add_reason (d, "SCAN_STALE", true);
  xasprintf (&r->detail, "image %s was last scanned %s ago (%s), policy allows %s", image_label (rec, ctx),
             ago, when, max);
  xasprintf (&r->remedy, "rescan it and import the report (patchgate import), or rebuild it");
  logfmt_append (&r->log_fields, "scanned_at", when);
  logfmt_append (&r->log_fields, "max_scan_age", max);
}

void
rule_image_age (const struct pg_rule_env *env, struct pg_decision *d)
{
  const struct pg_rules *rules = env->rules;
  const struct pg_image_record *rec = env->rec;
  const struct pg_context *ctx = env->ctx;
  int64_t now = env->now;
  bool reproducible = rec->created < PG_MEANINGFUL_BUILD_TIME;
  int64_t born = reproducible ? rec->first_seen : rec->created;
  char when[32], age[32], max[32];
  struct pg_reason *r;

  if (rules->max_image_age < 0 || now - born <= rules->max_image_age
      || waiver_suspends (env, d, "IMAGE_TOO_OLD", NULL, NULL))
    return;
  format_rfc3339 (born, when, sizeof (when));
  format_duration (now - born, age, sizeof (age));
  format_duration (rules->max_image_age, max, sizeof (max));
  r = decision_add_reason (d, "IMAGE_TOO_OLD", true);
  xasprintf (&r->detail, "image %s was %s %s ago (%s), policy allows %s", image_label (rec, ctx),
             reproducible ? "first seen" : "built", age, when, max);
  xasprintf (&r->remedy, "rebuild it on current packages and deploy the new build");
  logfmt_append (&r->log_fields, reproducible ? "first_seen" : "created", when);
  logfmt_append (&r->log_fields, "max_image_age", max);
}
