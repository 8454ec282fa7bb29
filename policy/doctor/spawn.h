/* patchgate: running a program and reading what it said, for doctor's
 * checks and its canary.  Nothing is shown to the user.
 */
#ifndef PATCHGATE_DOCTOR_SPAWN_H
#define PATCHGATE_DOCTOR_SPAWN_H

#include "base/util.h"

/* Run ARGV (NULL-terminated, searched in PATH) with stdin from /dev/null,
   stdout and stderr captured together into *OUT (at most 1 MiB kept).
   ENV (NULL-terminated NAME=VALUE entries, or NULL) is added to the
   environment; a first entry "-" clears the environment before.  *STATUS is the exit code, or 128 + the
   signal; the program is killed after TIMEOUT_S seconds.  */
int pg_run_capture (char *const *argv, char *const *env, int timeout_s, char **out, int *status,
                    pg_error_t *err);

#endif
