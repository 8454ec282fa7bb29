/* patchgate: the policy model, parsed and validated from the admin's JSON.
 *
 * Parsing is validation: a policy that parses is one the evaluator can apply
 * without further checks, and every error names the field and the problem.
 */
#ifndef PATCHGATE_POLICY_H
#define PATCHGATE_POLICY_H

#include "store/store.h"

enum pg_mode
{
  PG_MODE_ENFORCE,
  PG_MODE_AUDIT,
  PG_MODE_OFF,
};

enum pg_verdict
{
  PG_VERDICT_ALLOW,
  PG_VERDICT_DENY,
  PG_VERDICT_AUDIT,
};

const char *mode_name (enum pg_mode m);
const char *verdict_name (enum pg_verdict v);

/* A duration of -1 means "no limit".  Every field has a `has_` flag so that
   a scope overrides only what it names.  */
struct pg_rules
{
  bool has_mode;
  enum pg_mode mode;
  bool has_unscanned;
  enum pg_verdict unscanned;
  bool has_max_scan_age;
  int64_t max_scan_age;
  bool has_max_image_age;
  int64_t max_image_age;
  bool has_grace[PG_SEV_COUNT];
  int64_t grace[PG_SEV_COUNT];
  bool has_superseded_grace;
  int64_t superseded_grace;
  /* How long an OpenVEX not_affected/fixed statement clears a finding;
     -1 (the default): VEX statements are not honoured.  */
  bool has_vex_max_age;
  int64_t vex_max_age;
  /* Whether an OpenVEX statement whose product names a repository (and
     maybe a tag) but no digest may clear findings of the images scanned
     under it; false (the default): such a statement clears nothing.  */
  bool has_vex_repository_products;
  bool vex_repository_products;
};

struct pg_match
{
  char *namespace;  /* exact Kubernetes namespace, or a glob */
  char *repository; /* glob over the normalised repository name */
};

struct pg_scope
{
  char *name;
  struct pg_match match;
  struct pg_rules rules;
};

struct pg_waiver
{
  char *id;
  struct pg_match match; /* where it applies */
  char *digest;          /* optional: one image */
  char *cve;             /* what it waives: a vulnerability, */
  char *package;         /* a package, */
  char *reason_code;     /* or a whole reason code such as SCAN_STALE */
  int64_t expires;
  char *reason;
  char *owner;
};

/* "debian", or "debian:12" for one release; "rhel" also covers the
   rhel-likes (centos, rocky, alma, oracle).  */
struct pg_distro
{
  char *family;
  char *release; /* NULL: every release */
};
bool distro_matches (const struct pg_distro *d, const char *os_family, const char *os_name);

struct pg_min_version
{
  struct pg_distro distro;
  char *package;
  char *version;
};

struct pg_eol
{
  struct pg_distro distro;
  int64_t date;
};

struct pg_policy
{
  char *version;
  struct pg_rules defaults;
  enum pg_verdict on_unidentified;
  struct pg_scope *scopes;
  size_t n_scopes;
  char **revoked_digests;
  size_t n_revoked_digests;
  char **revoked_bases; /* digests of base images, resolved through the store */
  size_t n_revoked_bases;
  struct pg_waiver *waivers;
  size_t n_waivers;
  struct pg_min_version *min_versions;
  size_t n_min_versions;
  struct pg_eol *eol;
  size_t n_eol;
};

/* The defaults a policy starts from before its own `defaults` apply.  */
void policy_builtin_rules (struct pg_rules *rules);

int policy_parse (const char *text, size_t len, const char *name, struct pg_policy **out, pg_error_t *err);
int policy_parse_json (json_t *doc, const char *name, struct pg_policy **out, pg_error_t *err);
void policy_free (struct pg_policy *p);
void cleanup_policyp (struct pg_policy **p);
#define cleanup_policy __attribute__ ((cleanup (cleanup_policyp)))

/* Load and parse the policy stored in the database.  A database without a
   policy is an error: the hook cannot decide without one.  */
int policy_load_from_store (pg_store *store, struct pg_policy **out, pg_error_t *err);

#endif
