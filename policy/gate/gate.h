/* patchgate: from an OCI state to a decision.  The hook binary and
 * `patchgate check --state/--bundle` both go through gate_decide(), so the
 * CLI explains exactly what the hook enforces.
 */
#ifndef PATCHGATE_GATE_H
#define PATCHGATE_GATE_H

#include "config/hook_config.h"
#include "identify/identify.h"
#include "index/index.h"

struct pg_gate_result
{
  char *container_id; /* set as soon as the state parsed, for error logs */
  struct pg_identity identity;
  struct pg_context ctx;
  struct pg_decision decision;
  pg_index *index; /* opened by gate_prepare, closed by gate_result_free */
  /* After a failure: it was the host's (the wiring names no known engine),
     not the container's input.  */
  bool host_fault;
};
void gate_result_free (struct pg_gate_result *r);
void cleanup_gate_resultp (struct pg_gate_result *r);
#define cleanup_gate_result __attribute__ ((cleanup (cleanup_gate_resultp)))

/* The one place the hook config's settings enter a decision's context;
   the identity's fields are left empty.  */
void gate_context_init (const struct pg_hook_config *cfg, struct pg_context *ctx);

/* gate_prepare then gate_decide_prepared.  */
int gate_decide (const struct pg_hook_config *cfg, const char *state_text, size_t len, const char *state_name,
                 int64_t now, struct pg_gate_result *res, pg_error_t *err);
/* Every read of outside input, while the hook still may: parse the state,
   read config.json, umoci.json and the engine's metadata, identify the
   image, map the decision index (res->index).  */
int gate_prepare (const struct pg_hook_config *cfg, const char *state_text, size_t len,
                  const char *state_name, struct pg_gate_result *res, pg_error_t *err);
/* gate_prepare's two halves: the state, the bundle and the identity; then
   the decision index.  */
int gate_identify (const struct pg_hook_config *cfg, const char *state_text, size_t len,
                   const char *state_name, struct pg_gate_result *res, pg_error_t *err);
int gate_open_index (const struct pg_hook_config *cfg, struct pg_gate_result *res, pg_error_t *err);
/* The decision, from the open index alone: what the hook runs inside its
   sandbox (hook/sandbox.h).  */
int gate_decide_prepared (struct pg_gate_result *res, int64_t now, pg_error_t *err);
/* The same from an index the caller opened and keeps (gate_identify's
   result, RES->index unused): `patchgate audit` decides every container
   from one index.  */
int gate_decide_in (pg_index *idx, struct pg_gate_result *res, int64_t now, pg_error_t *err);

#endif
