/* patchgate: the one decision function.  The hook and `patchgate check`
 * both call decide_image() (through gate/ for a container), so what an
 * admin sees explained is exactly what the hook enforces.
 */
#ifndef PATCHGATE_EVAL_H
#define PATCHGATE_EVAL_H

#include "rules/decision.h"

/* Pure evaluation: every rule of eval.c's table that applies to the image.
   REC is NULL when the image is not in the database (the context's digest
   is then unscanned), or when it is unidentified (no digest at all).
   FACTS may be NULL.  */
int eval_image (const struct pg_policy *policy, const struct pg_image_record *rec,
                const struct pg_eval_facts *facts, const struct pg_context *ctx, int64_t now,
                struct pg_decision *out, pg_error_t *err);

/* Look the image up and evaluate it, reading policy, image and facts in one
   read transaction.  */
int decide_image (pg_store *store, const struct pg_context *ctx, int64_t now, struct pg_decision *out,
                  pg_error_t *err);

/* The decision for SCAN, a report not recorded, as decide_image will make
   it once SCAN is imported (store_record_from_scan): the same policy,
   facts and rules.  `patchgate check --report`, for build pipelines.  */
int decide_scan (pg_store *store, const struct pg_scan *scan, const struct pg_context *ctx, int64_t now,
                 struct pg_decision *out, pg_error_t *err);
/* The policy's revoked bases that the store knows, with their layers, into
   X (what rule_revoked_base compares an image's layers with).  */
int decide_load_revoked_bases (pg_store *store, const struct pg_policy *policy, struct pg_eval_facts *x,
                               pg_error_t *err);

#endif
