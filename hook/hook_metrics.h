/* patchgate: the hook's side of the decision metrics (metrics/metrics.h;
 * README, "Metrics").
 *
 * Off unless the hook config names metrics_counters or metrics_textfile.
 * Nothing here changes a decision, nor delays it: the files are opened
 * before the sandbox (hook_metrics_prepare), the decision is counted and
 * the textfile published only after its line is logged and the exit
 * status settled (hook_metrics_record_*), and whatever fails is logged in
 * one line at most per run and otherwise ignored.  A refusal at the
 * deadline is counted by its signal handler (atomics only) and published
 * by the next hook.
 */
#ifndef PATCHGATE_HOOK_METRICS_H
#define PATCHGATE_HOOK_METRICS_H

#include "config/hook_config.h"
#include "rules/decision.h"

/* After the hook config is loaded, before anything else is read: check and
   open the counters file (as the index: root's, written by nobody else,
   never a symlink), map it, and open the textfile's directory.  */
void hook_metrics_prepare (const struct pg_hook_config *cfg);
/* Right before pg_sandbox_enter: confine writes to the textfile's
   directory (pg_sandbox_confine_writes), or give up publishing.  */
void hook_metrics_confine (void);
/* Count the decision D (or, for an error, CODE, allowed or not) and publish
   the textfile; CTX names the container in the one line a failure logs.
   Once per run: a second call does nothing.  */
void hook_metrics_record_decision (const struct pg_decision *d, const struct pg_context *ctx);
void hook_metrics_record_error (const char *code, bool allowed, const struct pg_context *ctx);

#endif
