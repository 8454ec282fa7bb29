/* patchgate: inside the decision index: one image's record (record.c):
 * what eval_image reads of the image, and which of the policy's items can
 * concern it.  Nothing outside policy/index/ includes this.
 */
#ifndef PATCHGATE_INDEX_RECORD_H
#define PATCHGATE_INDEX_RECORD_H

#include "index/format.h"
#include "rules/eval.h"

/* What every record of one index is filtered by.  */
struct pg_index_record_ctx
{
  const struct pg_policy *policy;
  const struct pg_eval_facts *globals; /* the revoked bases the database knows */
  bool keep_severity[PG_SEV_COUNT];    /* a grace is a number in the defaults or some scope */
};
void index_record_ctx_init (struct pg_index_record_ctx *c, const struct pg_policy *policy,
                            const struct pg_eval_facts *globals);

/* The record of REC (NEWER: its newer build, or NULL), known by DIGESTS,
   into OUT (reset first).  */
void index_record_encode (const struct pg_index_record_ctx *c, const struct pg_image_record *rec,
                          const struct pg_eval_facts *newer, char *const *digests, size_t n_digests,
                          struct pg_index_buf *out);

#endif
