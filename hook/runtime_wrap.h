/* patchgate-runtime: an OCI runtime in front of runc for engines that take
 * a runtime but no hooks directory (Docker).  For `create` and `run` it adds
 * patchgate-hook to the bundle's config.json at hooks.createRuntime, then
 * execs the real runtime with the same argv; every other command passes
 * straight through.
 */
#ifndef PATCHGATE_RUNTIME_WRAP_H
#define PATCHGATE_RUNTIME_WRAP_H

#include "gate/gate.h"

#ifndef PG_DEFAULT_HOOK_PATH
#define PG_DEFAULT_HOOK_PATH "/usr/local/libexec/oci/hooks.d/patchgate-hook"
#endif
#define PG_DEFAULT_RUNTIME "runc"
#define PG_HOOK_TIMEOUT 10

/* What runc's command line says: global options, then the command, then its
   options and arguments.  */
struct pg_runtime_args
{
  const char *command; /* NULL: none (runc --version, runc --help) */
  int command_index;
  const char *bundle; /* --bundle/-b of create and run; NULL: the cwd */
};
int runtime_parse_args (int argc, char *const *argv, struct pg_runtime_args *a, pg_error_t *err);
/* create and run make a container from a bundle: those get the hook.  */
bool runtime_creates (const struct pg_runtime_args *a);

/* The hook entry to add: path, args, env, timeout.  */
struct pg_hook_entry
{
  char *path;
  char **args;
  size_t n_args;
  char **env;
  size_t n_env;
  int timeout;
};
/* From the environment (PATCHGATE_HOOK; PATCHGATE_NOW and the sanitizers'
   options are passed on), the hook config it was loaded from, and SELF,
   the wrapper's own path: a patchgate-hook beside it (a build tree), then
   SELF/../../libexec/oci/hooks.d/patchgate-hook, then the default.  */
int runtime_hook_entry (const struct pg_hook_config *cfg, const char *self, struct pg_hook_entry *h,
                        pg_error_t *err);
void hook_entry_free (struct pg_hook_entry *h);
json_t *hook_entry_json (const struct pg_hook_entry *h);

/* The config.json text with H appended to hooks.createRuntime: everything
   else stays byte for byte.  *OUT is NULL when a createRuntime hook with
   H's path is already there.  */
int oci_config_add_hook (const char *text, size_t len, const struct pg_hook_entry *h, char **out,
                         size_t *out_len, pg_error_t *err);
/* The same on BUNDLE/config.json, replaced atomically (temp file beside
   it, fsync, rename).  *ADDED says whether it changed.  */
int bundle_add_hook (const char *bundle, const struct pg_hook_entry *h, bool *added, pg_error_t *err);

/* The real runtime: $PATCHGATE_RUNTIME, else the config's runtime_path,
   else runc from PATH.  Refuses a path that is SELF.  */
int runtime_select (const struct pg_hook_config *cfg, const char *self, char **runtime, pg_error_t *err);
/* execv (execvp for a bare name) with argv[0] replaced; returns only on
   error.  */
int runtime_exec (const char *runtime, int argc, char *const *argv, pg_error_t *err);

#endif
