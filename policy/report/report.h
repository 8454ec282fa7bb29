/* patchgate: a decision rendered: the syslog line (logfmt), the line on
 * stderr, and the text and JSON of `patchgate check`.  The hook and the
 * CLI render through these functions only, so what `check --state` shows
 * is what the hook logs.  A new output format is a new file here.
 */
#ifndef PATCHGATE_REPORT_H
#define PATCHGATE_REPORT_H

#include "rules/decision.h"

/* Bounds of the decision line: rsyslog's default message size is 8 KiB,
   and a cut line loses what comes last, so every field is bounded and the
   fields that say what was decided come first.  */
#define PG_LOG_LINE_MAX 2048
#define PG_LOG_VALUE_MAX 256

/* The logfmt line for syslog: decision, container, digest, reasons,
   engine, scope, policy first, then the rest; at most PG_LOG_LINE_MAX
   bytes (fields that do not fit are dropped and counted in
   fields_dropped=N).  */
char *report_logfmt (const struct pg_decision *d, const struct pg_context *ctx);
/* The decision line of a decision that could not be made: CODE
   (POLICY_ERROR, INVALID_INPUT), whether the start is allowed anyway, and
   the error; with every field of CTX known by then (CTX may be NULL).  */
char *report_error_logfmt (const struct pg_context *ctx, const char *code, bool allowed, const char *msg);

/* One line for people: "image X was last scanned 12 days ago, ...".  */
char *report_summary (const struct pg_decision *d, const struct pg_context *ctx);
/* The hook's stderr line for a refusal, and for an error; escaped as the
   log line is, and bounded.  */
char *report_stderr_refusal (const struct pg_decision *d, const struct pg_context *ctx);
char *report_stderr_error (const struct pg_context *ctx, const char *code, bool allowed, const char *msg);

/* The decision as JSON, for `patchgate check --json`.  */
json_t *report_json (const struct pg_decision *d, const struct pg_context *ctx);

#endif
