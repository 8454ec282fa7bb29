/* patchgate: from an OCI state to a decision.  The hook binary and
 * `patchgate check --state/--bundle` both go through gate_decide(), so the
 * CLI explains exactly what the hook enforces.
 */
#ifndef PATCHGATE_GATE_H
#define PATCHGATE_GATE_H

#include "eval.h"

#define PG_DEFAULT_HOOK_CONFIG "/etc/patchgate/hook.json"

struct pg_hook_config
{
  char *path; /* where it was read from, or NULL for built-in defaults */
  char *policy_db;
  bool on_error_allow;
  int syslog_facility;
  char **annotation_keys; /* extra annotations an admin trusts to carry a digest */
  size_t n_annotation_keys;
  /* Policy bundles (policy/bundle.h): PEM Ed25519 public keys that may sign
     them (several, for rotation), how old an activated bundle may be
     (<= 0: no limit) and what a staler one yields (POLICY_STALE).  */
  char **trusted_keys;
  size_t n_trusted_keys;
  int64_t max_policy_age;
  enum pg_verdict policy_stale;
  /* Engines' own metadata (hook/resolve_storage.c, hook/resolve_docker.c)
     and the Docker runtime wrapper (hook/runtime_wrap.c); NULL: the
     engine's default (storage.conf, /var/lib/docker, runc).  */
  char *storage_conf;
  char *storage_graphroot;
  char *storage_runroot;
  char *storage_driver;
  char *docker_root;
  char *runtime_path;
  /* The hook's total deadline in milliseconds (hook/deadline.h); key
     `timeout`.  */
  int64_t timeout_ms;
};

/* PATH NULL: PATCHGATE_CONFIG, then the default path; a missing default
   file means built-in defaults, a missing named file is an error.  */
int hook_config_load (const char *path, struct pg_hook_config *cfg, pg_error_t *err);
void hook_config_free (struct pg_hook_config *cfg);

/* The OCI state the runtime passes on stdin, and the bundle's config.  */
struct pg_oci_state
{
  char *id;
  char *bundle;
  json_t *annotations; /* from <bundle>/config.json, else the state's */
};
int oci_state_parse (const char *text, size_t len, const char *name, struct pg_oci_state *st,
                     pg_error_t *err);
void oci_state_free (struct pg_oci_state *st);

/* Who the image is, and which engine started the container.  */
struct pg_identity
{
  char *digest;    /* "sha256:..." or NULL when unidentified */
  char *image_ref; /* engine-reported name, or NULL */
  char *namespace;
  const char *engine;
  const char *source; /* which resolver found it, for logs */
  char *conflict;     /* two trusted sources disagreed: why */
};
/* "sha256:<hex>", a bare 64-hex ID, or "name@sha256:<hex>" to "sha256:<hex>";
   NULL for anything else.  */
char *digest_normalize (const char *s);
int resolve_identity (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                      pg_error_t *err);
void identity_free (struct pg_identity *id);

/* Resolvers, tried in order; each returns 1 when it identified the image,
   0 when it does not apply, <0 on error.  */
int resolve_crio (const struct pg_oci_state *st, struct pg_identity *id, pg_error_t *err);
int resolve_containerd (const struct pg_oci_state *st, struct pg_identity *id, pg_error_t *err);
int resolve_umoci (const struct pg_oci_state *st, struct pg_identity *id, pg_error_t *err);
int resolve_annotation_keys (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                             struct pg_identity *id, pg_error_t *err);
int resolve_docker (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                    pg_error_t *err);
/* The Kubernetes namespace, only from the key the identified CRI engine
   sets itself (hook/resolve_namespace.c); NULL for everyone else.  */
char *resolve_trusted_namespace (const struct pg_oci_state *st, const struct pg_identity *id);

/* containers/storage (podman, CRI-O): where it lives, from the hook config,
   else storage.conf's [storage] table, else the defaults.  DRIVER NULL:
   probe overlay, then vfs.  */
#define PG_STORAGE_CONF "/etc/containers/storage.conf"
struct pg_storage_conf
{
  char *graphroot;
  char *runroot;
  char *driver;
};
/* A missing file leaves the defaults.  */
int storage_conf_parse (const char *path, struct pg_storage_conf *sc, pg_error_t *err);
void storage_conf_free (struct pg_storage_conf *sc);

/* The image of storage container CONTAINER_ID: its ID ("sha256:<hex>"),
   manifest digests and a name.  Returns 1 when the container is in the
   store, 0 when not (or no store here), <0 on error.  */
struct pg_storage_image
{
  char *image_id;
  char **digests;
  size_t n_digests;
  char *name;
};
int storage_lookup (const struct pg_hook_config *cfg, const char *container_id, struct pg_storage_image *img,
                    pg_error_t *err);
void storage_image_free (struct pg_storage_image *img);

struct pg_gate_result
{
  char *container_id; /* set as soon as the state parsed, for error logs */
  struct pg_identity identity;
  struct pg_context ctx;
  struct pg_decision decision;
  pg_store *store; /* opened by gate_prepare, closed by gate_result_free */
};
void gate_result_free (struct pg_gate_result *r);

/* gate_prepare then gate_decide_prepared.  */
int gate_decide (const struct pg_hook_config *cfg, const char *state_text, size_t len, const char *state_name,
                 int64_t now, struct pg_gate_result *res, pg_error_t *err);
/* Every read of outside input, while the hook still may: parse the state,
   read config.json, umoci.json and the engine's metadata, identify the
   image, open the policy database read-only (res->store).  */
int gate_prepare (const struct pg_hook_config *cfg, const char *state_text, size_t len,
                  const char *state_name, struct pg_gate_result *res, pg_error_t *err);
/* gate_prepare's two halves: the state, the bundle and the identity; then
   the database.  */
int gate_identify (const struct pg_hook_config *cfg, const char *state_text, size_t len,
                   const char *state_name, struct pg_gate_result *res, pg_error_t *err);
int gate_open_store (const struct pg_hook_config *cfg, struct pg_gate_result *res, pg_error_t *err);
/* The decision, from the open database alone: what the hook runs inside
   its sandbox (hook/sandbox.h).  */
int gate_decide_prepared (struct pg_gate_result *res, int64_t now, pg_error_t *err);

#endif
