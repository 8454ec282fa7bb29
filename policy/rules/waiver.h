/* patchgate: waivers, and the record of which ones applied or expired.  */
#ifndef PATCHGATE_WAIVER_H
#define PATCHGATE_WAIVER_H

#include "rules/rule.h"

/* Does an active waiver remove this finding?  An expired one that would
   have is remembered, so the decision log names it.  CVE and PACKAGE may be
   NULL for a whole reason.  */
bool waiver_suspends (const struct pg_rule_env *env, struct pg_decision *d, const char *code, const char *cve,
                      const char *package);
/* Add ID to a decision's list of applied or expired waivers, once.  */
void waiver_note (char ***list, size_t *n, const char *id);

#endif
