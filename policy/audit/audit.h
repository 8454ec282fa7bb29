/* patchgate: what runs on this host that today's policy would refuse.
 * `patchgate audit` (cli/cmd_audit.c) prints what this finds.
 *
 * Every container running in the runtimes' state roots
 * (audit/runtime_state.h) is decided again as the hook would decide it now:
 * the OCI state the runtime gives the hook (id, bundle, pid, status) is
 * rebuilt from the runtime's own state and goes through the hook's own
 * gate (gate/gate.h: the bundle's config.json and the engine's records,
 * read under the hook's bounds, then the decision index), with the
 * --engine its state root implies.  Every container is decided from one
 * mapping of the index: one policy for all.  Read-only: nothing is stopped
 * or signalled.
 */
#ifndef PATCHGATE_AUDIT_H
#define PATCHGATE_AUDIT_H

#include "audit/runtime_state.h"
#include "gate/gate.h"

enum pg_audit_outcome
{
  /* Decided: RES.decision is what the hook would decide now.  */
  PG_AUDIT_DECIDED,
  /* The container's own input (its bundle, config.json, umoci.json, the
     engine's record of it) failed the hook's reading: the hook refuses
     such a container (INVALID_INPUT), whatever on_error says.  */
  PG_AUDIT_INPUT_ERROR,
  /* The runtime's state of it could not be read, or the decision could
     not be made: nothing is known of what the hook would do.  */
  PG_AUDIT_ERROR,
};

struct pg_audit_row
{
  struct pg_runtime_container c;
  enum pg_audit_outcome outcome;
  char *error; /* PG_AUDIT_INPUT_ERROR, PG_AUDIT_ERROR: why */
  /* As far as the gate got: RES.ctx names the engine and the image once
     identified.  */
  struct pg_gate_result res;
};

struct pg_audit
{
  struct pg_audit_row *rows;
  size_t n_rows;
};
void pg_audit_free (struct pg_audit *a);
#define cleanup_audit __attribute__ ((cleanup (pg_audit_free)))

struct pg_audit_options
{
  const struct pg_state_root *roots; /* NULL: pg_default_state_roots */
  size_t n_roots;
  const char *proc; /* NULL: /proc */
  int64_t now;
};

/* Decide every running container of O->roots under CFG (the hook
   config: its database, index, engines' stores, annotation keys).  Fails
   only when nothing can be decided: a root that cannot be listed, the
   decision index that cannot be opened.  A container that cannot be read
   or decided is a row with its outcome and error.  */
int pg_audit_run (const struct pg_hook_config *cfg, const struct pg_audit_options *o, struct pg_audit *out,
                  pg_error_t *err);

/* What a row shows: the engine (as the hook would name it), the image
   (its name, else its digest; NULL unidentified), and the decision:
   "allow", "audit", "deny", or "error".  */
const char *pg_audit_row_engine (const struct pg_audit_row *r);
const char *pg_audit_row_image (const struct pg_audit_row *r);
const char *pg_audit_row_decision (const struct pg_audit_row *r);
/* Whether the hook would refuse this container now: a deny, or its own
   input failing the hook's reading.  */
bool pg_audit_row_refused (const struct pg_audit_row *r);

/* One row as JSON: container, engine, image, digest, decision, reasons
   (the codes), running_since, status, pid, runtime, state, bundle,
   namespace, error, and "check": the decision as `patchgate check --json`
   gives it (null when none was made).  */
json_t *pg_audit_row_json (const struct pg_audit_row *r);

#endif
