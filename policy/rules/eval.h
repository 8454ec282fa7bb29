/* patchgate: the one decision function.  The hook and `patchgate check`
 * both call decide_image(), so what an admin sees explained is exactly what
 * the hook enforces.
 */
#ifndef PATCHGATE_EVAL_H
#define PATCHGATE_EVAL_H

#include "rules/policy.h"

/* What is known of the container, from fields the engine itself sets.  */
struct pg_context
{
  const char *container_id;
  const char *namespace; /* io.kubernetes.pod.namespace, or NULL */
  const char *image_ref; /* the engine's name for the image, or NULL */
  const char *digest;    /* the digest the image was identified by, or NULL */
  const char *engine;    /* crio|podman|containerd|docker|runc */
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
  /* Identity as resolved through the database, for logs.  */
  char *image_id;
  char *image_name;
  char *log_fields; /* extra logfmt fields of the decision, may be NULL */
};
void pg_decision_free (struct pg_decision *d);

/* POLICY_STALE: when ctx->max_policy_age is set and the active database
   was activated from a bundle older than that, add the reason with the
   configured action (freshness.c).  Called inside decide_image's
   read transaction.  */
int policy_freshness_check (pg_store *store, const struct pg_context *ctx, int64_t now, struct pg_decision *d,
                            pg_error_t *err);

/* Facts that need the database beyond the image record; decide_image fills
   them, unit tests set them directly.  */
struct pg_eval_extra
{
  char *newer_digest; /* a newer scanned build of the same repository:tag */
  char *newer_name;
  int64_t newer_since;
  struct
  {
    char *digest;
    char **diff_ids;
    size_t n_diff_ids;
  } * bases; /* revoked bases that the database knows */
  size_t n_bases;
};
void pg_eval_extra_free (struct pg_eval_extra *x);

/* Pure evaluation.  REC is NULL when the image is not in the database (the
   context's digest is then unscanned), or when it is unidentified (no
   digest at all).  */
int eval_image (const struct pg_policy *policy, const struct pg_image_record *rec,
                const struct pg_eval_extra *extra, const struct pg_context *ctx, int64_t now,
                struct pg_decision *out, pg_error_t *err);

/* Look the image up and evaluate it, reading policy and image in one read
   transaction.  */
int decide_image (pg_store *store, const struct pg_context *ctx, int64_t now, struct pg_decision *out,
                  pg_error_t *err);

/* The policy's scope for this image and namespace (NULL: defaults), and the
   rules it yields.  */
const struct pg_scope *policy_select_scope (const struct pg_policy *policy, const struct pg_image_record *rec,
                                            const struct pg_context *ctx, struct pg_rules *rules);

/* One line for people: "image X was last scanned 12 days ago, ...".  */
char *decision_summary (const struct pg_decision *d, const struct pg_context *ctx);
/* The logfmt line for syslog.  */
char *decision_logfmt (const struct pg_decision *d, const struct pg_context *ctx);
/* The decision as JSON, for `patchgate check --json`.  */
json_t *decision_to_json (const struct pg_decision *d, const struct pg_context *ctx);

/* Append key=value to a logfmt line, quoting and escaping values so that
   nothing a tenant controls can forge a field or a line.  */
void logfmt_append (char **line, const char *key, const char *value);

#endif
