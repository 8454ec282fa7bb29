/* patchgate: a decision and what it is made of.
 *
 * The rules (rules/rule_*.c) add reasons to a pg_decision; eval.c runs them
 * in the order of its table and settles the verdict; report/ renders the
 * result for syslog, stderr and `patchgate check`.
 */
#ifndef PATCHGATE_DECISION_H
#define PATCHGATE_DECISION_H

#include "rules/policy.h"

/* What is known of the container, from fields the engine itself sets, and
   the host settings that take part in the decision (gate_context_init
   copies them from the hook config).  */
struct pg_context
{
  const char *container_id;
  const char *namespace;  /* set only by a CRI engine (identify/), or NULL */
  const char *image_ref;  /* the engine's name for the image, or NULL */
  const char *digest;     /* the digest the image was identified by, or NULL */
  const char *engine;     /* crio|podman|containerd|docker|runc */
  const char *conflict;   /* two trusted sources disagreed on the image: why */
  const char *test_clock; /* the hook's clock came from PATCHGATE_NOW (test_clock) */
  /* From the hook config: how old an activated policy bundle may be
     (<= 0: no limit), and what a staler one yields (POLICY_STALE).  */
  int64_t max_policy_age;
  enum pg_verdict policy_stale;
};

struct pg_reason
{
  char *code;       /* UNSCANNED, SCAN_STALE, FIXABLE_CRITICAL, ... */
  char *detail;     /* the evidence, as text */
  char *remedy;     /* what would make it pass */
  char *log_fields; /* logfmt fields for the decision log, may be NULL */
  bool deny;        /* false: this reason only audits (e.g. unscanned: audit) */
};

struct pg_decision
{
  enum pg_verdict verdict;
  enum pg_mode mode;
  char *scope; /* the scope that applied, "defaults" when none */
  char *policy_version;
  struct pg_reason *reasons;
  size_t n_reasons;
  char **waivers_applied;
  size_t n_waivers_applied;
  char **waivers_expired;
  size_t n_waivers_expired;
  /* What decided a finding that is not a reason, for people (`patchgate
     check`): which OpenVEX statement cleared it, or why none did.  Not in
     the decision log.  */
  char **notes;
  size_t n_notes;
  /* Identity as resolved through the database, for logs.  */
  char *image_id;
  char *image_name;
  char *log_fields; /* extra logfmt fields of the decision, may be NULL */
};
void pg_decision_free (struct pg_decision *d);
void cleanup_decisionp (struct pg_decision *d);
#define cleanup_decision __attribute__ ((cleanup (cleanup_decisionp)))

/* A new reason CODE on D; DENY false: it only audits.  */
struct pg_reason *decision_add_reason (struct pg_decision *d, const char *code, bool deny);
/* Add a note (pg_decision.notes) to D.  */
void decision_add_note (struct pg_decision *d, const char *note);
/* Append logfmt FIELDS to the decision's own fields.  */
void decision_add_log_fields (struct pg_decision *d, const char *fields);
/* The verdict from the reasons and the mode: off allows, audit audits,
   enforce denies when a reason denies.  */
void decision_settle_verdict (struct pg_decision *d);

/* Facts that need the database beyond the image record; decide_image fills
   them, unit tests set them directly.  */
struct pg_eval_facts
{
  char *newer_digest; /* a newer scanned build of the same repository:tag */
  char *newer_name;
  int64_t newer_since;
  struct pg_revoked_base
  {
    char *digest;
    char **diff_ids;
    size_t n_diff_ids;
  } * bases; /* revoked bases that the database knows */
  size_t n_bases;
  /* The bundle the active database was activated from; 0 when it was
     built locally (patchgate import / policy set).  */
  int64_t bundle_created;
  int64_t bundle_serial;
};
void pg_eval_facts_free (struct pg_eval_facts *x);

#endif
