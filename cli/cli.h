/* patchgate: the admin CLI's subcommands.  Each parses its own options
   (getopt_long, with --help) and returns the process exit code: 0 success
   (or "allow"), 1 denied by policy (check) or a failed comparison of inputs,
   2 an error.  cli/patchgate.c dispatches to them.  */
#ifndef PATCHGATE_CLI_H
#define PATCHGATE_CLI_H

#include "base/util.h"

int cmd_import (int argc, char **argv);
int cmd_policy (int argc, char **argv);
int cmd_check (int argc, char **argv);
int cmd_status (int argc, char **argv);
int cmd_vercmp (int argc, char **argv);
int cmd_bundle (int argc, char **argv);
int cmd_sync (int argc, char **argv);
int cmd_activate (int argc, char **argv);
int cmd_doctor (int argc, char **argv);
int cmd_prune (int argc, char **argv);
int cmd_report (int argc, char **argv);
int cmd_index (int argc, char **argv);
int cmd_audit (int argc, char **argv);
int cmd_metrics (int argc, char **argv);

/* After a committed change of DB: recompile the policy index (INDEX, NULL:
   beside DB); on failure say what the hook does meanwhile.  Returns the
   exit code.  */
int cli_refresh_index (const char *db, const char *index, int64_t now);

/* Print "patchgate: <message>" on stderr, release the error, return 2.  */
int cli_fail (pg_error_t *err);

/* The hook config (CONFIG, else $PATCHGATE_CONFIG, else the default) with
   DB and INDEX, when not NULL, in place of its own: what check and audit
   decide under, as the hook would.  */
struct pg_hook_config;
int cli_load_hook_config (const char *config, const char *db, const char *index, struct pg_hook_config *cfg,
                          pg_error_t *err);
/* The time to decide at: --at AT (RFC 3339) when not NULL, else now.  */
int cli_decision_time (const char *at, int64_t *now, pg_error_t *err);

#endif
