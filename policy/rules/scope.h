/* patchgate: which of the policy's scopes applies to an image, and whether
 * a match (of a scope or a waiver) names it.
 */
#ifndef PATCHGATE_SCOPE_H
#define PATCHGATE_SCOPE_H

#include "rules/decision.h"

/* The policy's scope for this image and namespace (NULL: defaults), and the
   rules it yields: the most specific that applies; the engine's name for
   the image counts only for scopes that are not softer.  */
const struct pg_scope *policy_select_scope (const struct pg_policy *policy, const struct pg_image_record *rec,
                                            const struct pg_context *ctx, struct pg_rules *rules);
/* Is any of S's settings more lenient than DEFAULTS (a looser mode, a
   longer age or grace, unscanned images allowed, VEX honoured longer)?  A
   softer scope applies only through the admin's facts: the repositories
   under which scans recorded the image, a namespace a CRI engine set.  */
bool scope_is_softer (const struct pg_scope *s, const struct pg_rules *defaults);
/* Does M (namespace and repository globs) name this image, by the admin's
   facts only (a waiver's match, always softer)?  */
bool match_applies (const struct pg_match *m, const struct pg_image_record *rec,
                    const struct pg_context *ctx);
/* Is DIGEST one of the image's identities: the digest it was identified
   by, or any digest the database knows for it (image ID, manifest digest,
   repo digests)?  Revocations and waivers by digest name the image.  */
bool image_has_digest (const struct pg_image_record *rec, const struct pg_context *ctx, const char *digest);
/* The name to show people for the image.  */
const char *image_label (const struct pg_image_record *rec, const struct pg_context *ctx);

#endif
