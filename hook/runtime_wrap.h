/* patchgate-runtime: an OCI runtime in front of runc for engines that take
 * a runtime but no hooks directory (Docker).  For `create`, `run` and
 * `restore` (every command that makes a container from a bundle, and so
 * runs its createRuntime hooks) it makes patchgate-hook the one patchgate
 * entry of the bundle's config.json, at hooks.createRuntime
 * (hook/oci_config.h), then execs the real runtime with the same argv;
 * every other command passes straight through.
 */
#ifndef PATCHGATE_RUNTIME_WRAP_H
#define PATCHGATE_RUNTIME_WRAP_H

#include "gate/gate.h"
#include "oci_config.h"

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
  const char *bundle; /* --bundle/-b of create, run, restore; NULL: the cwd */
};
int runtime_parse_args (int argc, char *const *argv, struct pg_runtime_args *a, pg_error_t *err);
/* create, run and restore make a container from a bundle: those get the
   hook.  */
bool runtime_creates (const struct pg_runtime_args *a);

/* The hook entry to add: the hook found from PATCHGATE_HOOK, else beside
   SELF, the wrapper's own path (a build tree), then
   SELF/../../libexec/oci/hooks.d/patchgate-hook, then the default;
   args `--engine docker` and, when CFG is not the default config,
   `--config CFG`; an env of its own, a fixed PATH: no variable of the
   runtime's environment (PATCHGATE_NOW above all) reaches the hook.  A
   sanitized build (tests only) passes the sanitizers' options on.  */
int runtime_hook_entry (const struct pg_hook_config *cfg, const char *self, struct pg_hook_entry *h,
                        pg_error_t *err);

/* oci_config_set_hook on BUNDLE/config.json (a regular file, not a
   symlink), replaced atomically with its mode and owner kept.  *CHANGED
   says whether it was rewritten.  */
int bundle_set_hook (const char *bundle, const struct pg_hook_entry *h, bool *changed, pg_error_t *err);

/* The real runtime: $PATCHGATE_RUNTIME, else the config's runtime_path,
   else runc from PATH.  Refuses a path that is SELF.  */
int runtime_select (const struct pg_hook_config *cfg, const char *self, char **runtime, pg_error_t *err);
/* execv (execvp for a bare name) with argv[0] replaced; returns only on
   error.  */
int runtime_exec (const char *runtime, int argc, char *const *argv, pg_error_t *err);

#endif
