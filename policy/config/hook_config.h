/* patchgate: the host's hook config (/etc/patchgate/hook.json), which only
 * root writes: where the database is, what errors yield, which engines'
 * metadata to read, the syslog facility, the bundle keys, the deadline.
 */
#ifndef PATCHGATE_HOOK_CONFIG_H
#define PATCHGATE_HOOK_CONFIG_H

#include "base/util.h"
#include "rules/policy.h"

/* Below the 10 s that the shipped hook definitions give the runtime.  */
#define PG_DEFAULT_TIMEOUT_MS 8000

#define PG_DEFAULT_HOOK_CONFIG "/etc/patchgate/hook.json"
#define PG_DEFAULT_METRICS_INTERVAL 10

struct pg_hook_config
{
  char *path; /* where it was read from, or NULL for built-in defaults */
  char *policy_db;
  /* The decision index the hook reads (index/index.h): key policy_index,
     default beside policy_db ("X.db" -> "X.idx"); how long after a change
     of policy_db an index compiled before it is still used (key
     index_max_lag, seconds).  */
  char *policy_index;
  int64_t index_max_lag;
  bool on_error_allow;
  int syslog_facility;
  char **annotation_keys; /* extra annotations an admin trusts to carry a digest */
  size_t n_annotation_keys;
  /* Policy bundles (bundle/bundle.h): PEM Ed25519 public keys that may sign
     them (several, for rotation), how old an activated bundle may be
     (<= 0: no limit) and what a staler one yields (POLICY_STALE).  */
  char **trusted_keys;
  size_t n_trusted_keys;
  int64_t max_policy_age;
  enum pg_verdict policy_stale;
  /* Engines' own metadata (identify/resolve_storage.c, identify/resolve_docker.c)
     and the Docker runtime wrapper (hook/runtime_wrap.c); NULL: the
     engine's default (storage.conf, /var/lib/docker, runc).  */
  char *storage_conf;
  char *storage_graphroot;
  char *storage_runroot;
  char *storage_driver;
  char *docker_root;
  char *runtime_path;
  /* The engine the wrapper's hook entry names (--engine): "docker" when
     unset; "containerd" where the wrapper is containerd's BinaryName for
     CRI pods, "runc" for bare bundles.  */
  char *runtime_engine;
  /* Test-only (key `test_clock`, default false): the hook takes its clock
     from PATCHGATE_NOW in its environment.  Never on a production host:
     the environment is whoever ran the runtime's.  */
  bool test_clock;
  /* Decision metrics (metrics/metrics.h): the node_exporter textfile the
     hook renders after each decision (key metrics_textfile, a path ending
     in ".prom"; NULL: none) and the counters file it counts in (key
     metrics_counters; when only metrics_textfile is set, "metrics.counters"
     beside policy_db).  Both NULL: metrics off.  */
  char *metrics_textfile;
  char *metrics_counters;
  /* How often at most the hook renders metrics_textfile (key
     metrics_interval, a duration; "0s": after every decision), so that
     publishing stays off the start path's budget; a timer running
     `patchgate metrics --write-textfile` publishes what the last interval
     counted when no start follows.  */
  int64_t metrics_interval;
  /* The hook's total deadline in milliseconds (hook/deadline.h); key
     `timeout`.  */
  int64_t timeout_ms;
  /* How long `patchgate import` keeps every scan (key `scan_history`, a
     duration, or "all", the default: -1); older ones are pruned except what
     decisions read (store_prune_scans).  The hook never reads it.  */
  int64_t scan_history;
  /* The engine this hook definition serves, from the hook's own arguments
     (`--engine NAME` in the hooks.d file, the containerd base spec, the
     Docker wrapper's entry), which only root writes; never read from the
     config file nor from the container.  NULL when not given.  */
  char *engine;
};

/* PATH NULL: the default path, where a missing file means built-in
   defaults; a missing named file is an error.  The environment is never
   read here: the hook takes its config only from its argv, which the
   hook definition (root's) sets.  */
int hook_config_load (const char *path, struct pg_hook_config *cfg, pg_error_t *err);
/* For the programs an admin or an engine's daemon runs (patchgate,
   patchgate-runtime), never for the hook: GIVEN (--config) when not NULL,
   else $PATCHGATE_CONFIG when set, else NULL (the default).  */
const char *hook_config_env_path (const char *given);
/* "all" (-1: keep every scan) or a duration, as `scan_history` and
   `patchgate import --keep` take it.  */
int hook_config_parse_history (const char *s, int64_t *out);
void hook_config_free (struct pg_hook_config *cfg);
/* Use the database DB (a --db option) and the index beside it; DB NULL:
   only fill in the index beside policy_db when none is set.  */
void hook_config_set_db (struct pg_hook_config *cfg, const char *db);
#define cleanup_hook_config __attribute__ ((cleanup (hook_config_free)))

#endif
