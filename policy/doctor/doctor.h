/* patchgate: is patchgate wired into every engine on this host, and would
 * it run?  `patchgate doctor` (cli/cmd_doctor.c) prints what this finds.
 *
 * For each engine present: podman and CRI-O (the hooks.d directories their
 * configuration names, each file read as they read it, the hook binary),
 * containerd (the CRI plugin's base runtime spec), Docker (patchgate-runtime
 * registered and the default runtime), bare runc; then each hook config
 * the wiring names and its database (loadable, root's alone).  With the
 * canary, a freshly built image that no scan can have seen is started
 * through each engine, and must be refused (doctor/canary.h).
 */
#ifndef PATCHGATE_DOCTOR_H
#define PATCHGATE_DOCTOR_H

#include "doctor/findings.h"

struct pg_doctor_options
{
  /* Where to look instead of the engines' own configuration (NULL, 0:
     theirs).  HOOKS_DIRS replaces podman's and CRI-O's hooks_dir.  */
  char **hooks_dirs;
  size_t n_hooks_dirs;
  const char *containers_conf;
  const char *crio_conf;
  const char *containerd_config;
  const char *docker_daemon_json;
  /* The hook config of a wiring that names none (NULL: the default).  */
  const char *hook_config;
  /* Only these engines (podman, crio, containerd, docker, runc); none:
     every engine whose program is installed.  A named engine is checked
     even when its program is not.  */
  char **engines;
  size_t n_engines;
  bool canary;
  /* The canary's bare-runtime wiring (default: the installed
     runc-hook-snippet.json), extra global podman options (--root,
     --storage-driver, ...) and dockerd's address.  */
  const char *runc_snippet;
  char **podman_args;
  size_t n_podman_args;
  /* dockerd's socket for the canary (docker -H; NULL: the client's default). */
  const char *docker_host;
};

/* Runs every check; fails only when doctor itself cannot run.  */
int pg_doctor_run (const struct pg_doctor_options *o, struct pg_doctor_report *r, pg_error_t *err);

#endif
