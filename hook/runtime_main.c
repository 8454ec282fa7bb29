/* patchgate-runtime: register it with Docker (daemon.json "runtimes") or
 * containerd (BinaryName) in place of runc.  `create`, `run` and `restore`
 * get patchgate-hook as the one patchgate entry, at hooks.createRuntime, or
 * are refused (exit 2, no container made) when config.json could be read
 * differently by runc and crun; then, and for every other command at once,
 * the real runtime is exec'd with the same arguments.  Thin by design: the
 * logic is hook/runtime_wrap.c and hook/oci_config.c.
 */
#include "runtime_wrap.h"

#include <string.h>

#define EXIT_ERROR 2

static int
die (pg_error_t *err)
{
  fprintf (stderr, "patchgate-runtime: %s\n", (*err)->msg);
  pg_error_release (err);
  return EXIT_ERROR;
}

/* Makes the hook the bundle's one patchgate entry.  */
static int
gate_bundle (const struct pg_hook_config *cfg, const struct pg_runtime_args *a, const char *self,
             pg_error_t *err)
{
  struct pg_hook_entry h;
  bool changed;
  int r;

  if (runtime_hook_entry (cfg, self, &h, err) < 0)
    return -1;
  r = bundle_set_hook (a->bundle ? a->bundle : ".", &h, &changed, err);
  hook_entry_free (&h);
  return r;
}

/* Everything but the exec: the runtime to run, with the bundle gated when
   a container is being made.  */
static int
prepare (int argc, char **argv, const char *self, char **runtime, pg_error_t *err)
{
  struct pg_hook_config cfg;
  struct pg_runtime_args a;
  bool have_cfg = hook_config_load (hook_config_env_path (NULL), &cfg, err) == 0;
  bool creates;
  int ret = -1;

  if (runtime_parse_args (argc, argv, &a, err) < 0)
    {
      /* Leave the complaint to the runtime, unless a container is being
         made: that one must not start without the hook.  */
      if (runtime_creates (&a))
        goto out;
      pg_error_release (err);
    }
  creates = runtime_creates (&a);
  if (creates && !have_cfg)
    {
      pg_error_wrap (err, "hook config");
      goto out;
    }
  pg_error_release (err);
  if (creates && gate_bundle (&cfg, &a, self, err) < 0)
    {
      pg_error_wrap (err, "cannot add patchgate-hook to the bundle, the container is not created");
      goto out;
    }
  ret = runtime_select (have_cfg ? &cfg : NULL, self, runtime, err);
out:
  if (have_cfg)
    hook_config_free (&cfg);
  return ret;
}

int
main (int argc, char **argv)
{
  pg_error_t err = NULL;
  cleanup_free char *self = realpath ("/proc/self/exe", NULL);
  cleanup_free char *runtime = NULL;

  if (argc < 1)
    return EXIT_ERROR;
  if (prepare (argc, argv, self, &runtime, &err) < 0)
    return die (&err);
  runtime_exec (runtime, argc, argv, &err);
  return die (&err);
}
