/* Which engine's resolver runs is a fact of the wiring: the hook
 * definition's `--engine NAME`, which only root writes (the hooks.d file,
 * the containerd base spec, the Docker wrapper, the runc snippet).  Only
 * that engine's resolver runs and only that engine's keys are read: no
 * annotation ever selects an engine.  Without --engine, an engine counts
 * only when its own record of this container is for this very bundle;
 * otherwise only what a bare runtime's bundle offers is read, with no
 * namespace.
 */
#include "identify/engines.h"

#include <string.h>

static const struct
{
  const char *name;
  enum pg_engine engine;
} engine_names[] = {
  { "crio", PG_ENGINE_CRIO },
  { "podman", PG_ENGINE_PODMAN },
  { "containers-storage", PG_ENGINE_CONTAINERS_STORAGE },
  { "containerd", PG_ENGINE_CONTAINERD },
  { "docker", PG_ENGINE_DOCKER },
  { "runc", PG_ENGINE_RUNC },
};

int
pg_engine_parse (const char *name, enum pg_engine *engine, pg_error_t *err)
{
  *engine = PG_ENGINE_NONE;
  if (name == NULL)
    return 0;
  for (size_t i = 0; i < sizeof (engine_names) / sizeof (engine_names[0]); i++)
    if (strcmp (name, engine_names[i].name) == 0)
      {
        *engine = engine_names[i].engine;
        return 0;
      }
  return pg_make_error (err, 0,
                        "--engine: `%.64s` is not an engine (crio, podman, containers-storage, containerd, "
                        "docker, runc)",
                        name);
}

/* No --engine: containers/storage, then Docker, each only with its own
   record of this bundle (or rootfs); else the bare runtime's sources.  A
   record for another bundle is only noted (conflict): it is never believed
   and never makes the container anyone else's.  */
static int
resolve_unwired (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                 pg_error_t *err)
{
  int r = resolve_containers_storage (cfg, st, id, err);

  if (r == 0)
    r = resolve_docker (cfg, st, id, err);
  if (r == 0)
    r = resolve_runc (cfg, st, id, err);
  return r;
}

int
resolve_identity (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                  pg_error_t *err)
{
  enum pg_engine engine;
  int r = -1;

  memset (id, 0, sizeof (*id));
  if (pg_engine_parse (cfg->engine, &engine, err) < 0)
    return -1;
  /* The engine named by the wiring, even when its resolver finds nothing:
     the container is then unidentified, never someone else's.  */
  switch (engine)
    {
    case PG_ENGINE_CRIO:
      id->engine = "crio";
      r = resolve_crio (cfg, st, id, err);
      break;
    case PG_ENGINE_PODMAN:
      id->engine = "podman";
      r = resolve_podman (cfg, st, id, err);
      break;
    case PG_ENGINE_CONTAINERS_STORAGE:
      id->engine = "containers-storage";
      r = resolve_containers_storage (cfg, st, id, err);
      break;
    case PG_ENGINE_CONTAINERD:
      id->engine = "containerd";
      r = resolve_containerd (cfg, st, id, err);
      break;
    case PG_ENGINE_DOCKER:
      id->engine = "docker";
      r = resolve_docker (cfg, st, id, err);
      break;
    case PG_ENGINE_RUNC:
      id->engine = "runc";
      r = resolve_runc (cfg, st, id, err);
      break;
    case PG_ENGINE_NONE:
      id->engine = "runc";
      r = resolve_unwired (cfg, st, id, err);
      break;
    }
  if (r < 0)
    return -1;
  /* Only from a proven CRI engine's own key (identify/resolve_namespace.c).  */
  id->namespace = resolve_trusted_namespace (st, id);
  return 0;
}
