/* patchgate: oci-hooks(5) directories as podman and CRI-O read them
 * (containers/common pkg/hooks): each `*.json` file decoded as Go's
 * encoding/json decodes it, then validated as hooks/1.0.0 Hook.Validate
 * does, in its order; directories merged by file name, a later directory's
 * file replacing an earlier one only when it loads.
 *
 * What the engines do with a file that does not load: when its hook.path
 * does not exist (and nothing failed before it in that directory) they
 * skip it without a word and start containers without it; any other fault
 * makes them fail (podman: every container; CRI-O: at start).
 */
#ifndef PATCHGATE_DOCTOR_OCIHOOKS_H
#define PATCHGATE_DOCTOR_OCIHOOKS_H

#include "base/util.h"

struct pg_oci_hook_file
{
  char *path; /* DIR/NAME */
  char *dir;
  char *name;
  /* The outcome of reading it: loaded, or the error the engine meets.  */
  bool loaded;
  char *error;
  bool missing_binary; /* the error is hook.path's ENOENT */
  bool legacy;         /* version 0.1.0 (or none): loaded, not checked */
  bool overridden;     /* a later directory's file of the same name loaded */
  char *overridden_by;
  /* What it says (when it decodes).  */
  char *version;
  char *hook_path;
  char **args;
  size_t n_args;
  bool has_timeout;
  long long timeout;
  char **stages;
  size_t n_stages;
  /* `when`: does it match every container?  */
  bool runs_always;
  char *when_why; /* else: which containers it runs for, or that it never does */
  /* A stage at which a hook runs in the runtime's namespace before the
     container's process starts: createRuntime or prestart.  */
  bool gates;
  char *stages_why; /* else why not */
};

struct pg_oci_hooks
{
  struct pg_oci_hook_file *files; /* every *.json of every directory */
  size_t n_files;
  /* Set when the engine would fail to load the directories at all: the
     first error it does not ignore.  */
  char *fatal;
};

/* Read one file.  EXTENSION_STAGES are the engine's own stages beyond the
   runtime spec's (podman: precreate, poststop).  Only an unreadable file
   is an error; everything the engine would refuse is in F->error.  */
int pg_oci_hook_read (const char *dir, const char *name, char *const *extension_stages, size_t n_ext,
                      struct pg_oci_hook_file *f, pg_error_t *err);
/* Scan DIRS in order of increasing precedence, as the engine does.  A
   missing directory is skipped.  */
int pg_oci_hooks_scan (char *const *dirs, size_t n_dirs, char *const *extension_stages, size_t n_ext,
                       struct pg_oci_hooks *set, pg_error_t *err);
void pg_oci_hook_file_free (struct pg_oci_hook_file *f);
void pg_oci_hooks_free (struct pg_oci_hooks *set);
#define cleanup_oci_hooks __attribute__ ((cleanup (pg_oci_hooks_free)))

/* The file name of a path: a hook is patchgate's when its hook.path's base
   name is patchgate-hook.  */
bool pg_is_patchgate_hook (const char *hook_path);

#endif
