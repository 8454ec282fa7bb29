/* patchgate: OpenVEX statements, as evaluation reads them (rule_fixable.c).
 */
#ifndef PATCHGATE_VEX_H
#define PATCHGATE_VEX_H

#include "rules/rule.h"

/* Does an OpenVEX statement clear finding V (past its grace) on the image?
   The statements that apply to V are those that name its vulnerability (by
   name, @id or alias), name the image (by any of its digests; by a
   repository it was scanned under, and the tag when one is named, only
   where the scope sets vex_repository_products; a statement that would
   clear by repository otherwise clears nothing) and, when they list
   subcomponents, its package (purl type, namespace and name; the version
   when given; `arch` when both give one).  Of those the latest decides,
   wherever it came from: not_affected or fixed clears V for vex_max_age
   after its timestamp; affected or under_investigation withdraws any
   earlier one.  On a tie of timestamps a withdrawal wins.  D gets a note
   naming the statement that decided and its document, and the label
   vex:<id> among the waivers applied (or expired).  */
bool vex_clears (const struct pg_rule_env *env, const struct pg_vuln *v, struct pg_decision *d);

#endif
