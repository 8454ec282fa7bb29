/* patchgate: the containers a runtime is running, from the runtime's own
 * state root: runc's <root>/<id>/state.json (libcontainer's state, not the
 * OCI state: init_process_pid, init_process_start, created, the bundle in
 * config.labels), crun's <root>/<id>/status (pid, process-start-time,
 * bundle, created).  An engine keeps its runtime's root where it likes:
 * containerd's runc shim under /run/containerd/runc/<namespace>, Docker
 * under <exec-root>/runtime-<name>/<namespace>; rootful podman and CRI-O
 * leave runc and crun their defaults (/run/runc, /run/crun).
 *
 * A container counts as running as runc and crun decide it: its init
 * process is there, not a zombie, and started when the state says (a pid
 * reused since is not the container); "created" while its exec.fifo is
 * still there (created, not started: the hook has run).  Nothing here
 * signals anything: /proc is read, no more.
 */
#ifndef PATCHGATE_RUNTIME_STATE_H
#define PATCHGATE_RUNTIME_STATE_H

#include "base/util.h"

/* How a root is laid out, and which engine's hook wiring it implies.  */
enum pg_root_kind
{
  /* DIR/<id>: runc's or crun's own root.  Whose container it is is proven
     from the engines' records of its bundle (podman, CRI-O: the
     containers/storage record), else it is a bare runtime's: decided as
     a hook without --engine decides (identify/identify.h).  */
  PG_ROOT_RUNTIME,
  /* DIR/<namespace>/<id>: containerd's runc shim (/run/containerd/runc);
     --engine containerd, but docker in dockerd's namespace "moby".  */
  PG_ROOT_CONTAINERD,
  /* DIR/runtime-<name>/<namespace>/<id>: Docker's exec root (/run/docker),
     one runtime root per runtime dockerd knows; --engine docker.  */
  PG_ROOT_DOCKER,
};

struct pg_state_root
{
  const char *path;
  enum pg_root_kind kind;
  /* A default root may be missing (that engine is not here); a root
     named by the admin may not.  */
  bool optional;
};

/* The roots looked at by default.  */
extern const struct pg_state_root pg_default_state_roots[];
extern const size_t pg_n_default_state_roots;

/* "DIR" (PG_ROOT_RUNTIME), "containerd=DIR" or "docker=DIR", as
   `patchgate audit --root` takes it.  ROOT->path points into SPEC.  */
int pg_state_root_parse (const char *spec, struct pg_state_root *root, pg_error_t *err);
const char *pg_root_kind_name (enum pg_root_kind kind);

enum pg_run_status
{
  PG_RUN_STOPPED,
  PG_RUN_CREATED,
  PG_RUN_RUNNING,
};
const char *pg_run_status_name (enum pg_run_status s);

/* One container of a state root.  */
struct pg_runtime_container
{
  char *id;
  char *dir;          /* its state directory, <runtime root>/<id> */
  char *namespace;    /* containerd's (or Docker's) namespace, or NULL */
  const char *format; /* "runc" (state.json) or "crun" (status) */
  /* The --engine of the hook wiring this root implies: NULL (none: prove
     it from the engines' records), "containerd" or "docker".  */
  const char *engine;
  char *bundle;
  int64_t pid;
  uint64_t start_time; /* the init process's start, in clock ticks after boot (proc(5)); 0: not recorded */
  int64_t created;     /* seconds since the epoch, or -1 */
  enum pg_run_status status;
  /* The state could not be read or makes no sense: why (the fields
     above but id, dir, namespace, format and engine may be unset).  */
  char *error;
};
void pg_runtime_container_free (struct pg_runtime_container *c);

/* Every container whose state is in ROOTS, sorted by root (in the order
   given), namespace and id; stopped ones are left out unless ALL.  PROC is
   where proc(5) is mounted (NULL: /proc).  A state directory with neither
   state.json nor status (a container being made or removed) is no
   container; a state that cannot be read is one, with its error.  Fails
   only when a root cannot be listed (a missing optional one is skipped).  */
struct pg_runtime_list
{
  struct pg_runtime_container *v;
  size_t n;
};
int pg_runtime_list (const struct pg_state_root *roots, size_t n_roots, const char *proc, bool all,
                     struct pg_runtime_list *out, pg_error_t *err);
void pg_runtime_list_free (struct pg_runtime_list *l);
#define cleanup_runtime_list __attribute__ ((cleanup (pg_runtime_list_free)))

/* Parse TEXT, the state file of container C->id as runc (FORMAT "runc":
   state.json) or crun ("crun": status) writes it, into C's bundle, pid,
   start_time and created.  NAME names it in messages.  */
int pg_runtime_state_parse (const char *format, const char *text, size_t len, const char *name,
                            struct pg_runtime_container *c, pg_error_t *err);

/* Whether process PID is the one that started at START_TIME (clock ticks
   after boot; 0: any), from PROC/<pid>/stat: 1 when it is and is alive
   (not a zombie), 0 when not.  */
int pg_process_is (const char *proc, int64_t pid, uint64_t start_time);

#endif
