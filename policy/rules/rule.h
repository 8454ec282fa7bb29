/* patchgate: the rules.  Each rule is one function in one file
 * (rules/rule_*.c) that adds its reasons to the decision; eval.c's table
 * says in which order they run and for which images.  A new rule is a new
 * file, a row in that table, and its reason code in policy.c's list of
 * codes a waiver may name.
 */
#ifndef PATCHGATE_RULE_H
#define PATCHGATE_RULE_H

#include "base/logfmt.h"
#include "rules/decision.h"

/* Everything a rule may read.  */
struct pg_rule_env
{
  const struct pg_policy *policy;
  const struct pg_rules *rules;      /* the defaults overlaid with the scope's */
  const struct pg_image_record *rec; /* NULL: not in the database */
  const struct pg_eval_facts *facts; /* may be NULL */
  const struct pg_context *ctx;
  int64_t now;
};

typedef void (*pg_rule_fn) (const struct pg_rule_env *env, struct pg_decision *d);

/* Every identified image or not.  */
void rule_revoked (const struct pg_rule_env *env, struct pg_decision *d);
void rule_policy_stale (const struct pg_rule_env *env, struct pg_decision *d);
/* Images without a digest, and images without a scan.  */
void rule_unidentified (const struct pg_rule_env *env, struct pg_decision *d);
void rule_unscanned (const struct pg_rule_env *env, struct pg_decision *d);
/* Scanned images.  */
void rule_revoked_base (const struct pg_rule_env *env, struct pg_decision *d);
void rule_scan_age (const struct pg_rule_env *env, struct pg_decision *d);
void rule_image_age (const struct pg_rule_env *env, struct pg_decision *d);
void rule_fixable (const struct pg_rule_env *env, struct pg_decision *d);
void rule_min_versions (const struct pg_rule_env *env, struct pg_decision *d);
void rule_superseded (const struct pg_rule_env *env, struct pg_decision *d);
void rule_eol (const struct pg_rule_env *env, struct pg_decision *d);

/* Does the scanner's STATUS word say a fix will not come (will_not_fix,
   not_affected, ...)?  Such a finding is never fixable.  */
bool fixable_status_blocks_fix (const char *status);

#endif
