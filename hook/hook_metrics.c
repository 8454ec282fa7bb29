/* patchgate: the hook's side of the decision metrics (see hook_metrics.h).  */
#include "hook_metrics.h"
#include "deadline.h"
#include "logsink.h"
#include "sandbox.h"
#include "metrics/metrics.h"
#include "base/clock.h"
#include "base/logfmt.h"
#include "base/trusted_path.h"

#include <signal.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>

static struct
{
  bool on;         /* the config asks for metrics */
  bool counting;   /* the counters file is mapped */
  bool publishing; /* and the textfile's directory open (and, in the sandbox, writable) */
  bool done;
  int64_t stale_ms;
  struct pg_metrics m;
  struct pg_metrics_textfile t;
  char *error; /* the first failure, for the one line logged */
} hm = { .t = { .dirfd = -1 } };

/* The decision of this run is counted (or being counted): set before
   counting, by the main flow or the deadline's handler.  */
static volatile sig_atomic_t counted;

/* At the deadline (signal handler: atomics only).  Before the decision
   settled, the deadline's refusal is this run's decision: counted here
   (POLICY_ERROR), published by the next hook.  In any case the lease, if
   this hook holds it, is given back.  */
static void
on_deadline (int settled, int status)
{
  if (!settled && hm.counting && !counted)
    {
      const char *code = "POLICY_ERROR";
      counted = 1;
      metrics_count (hm.m.c, status == 0 ? PG_VERDICT_ALLOW : PG_VERDICT_DENY, &code, 1, pg_real_now ());
    }
  metrics_lease_release_async ();
}

static void
note (pg_error_t *err)
{
  if (hm.error == NULL)
    hm.error = xstrdup ((*err)->msg);
  pg_error_release (err);
}

void
hook_metrics_prepare (const struct pg_hook_config *cfg)
{
  const int64_t interval_ms = cfg->metrics_interval * 1000;
  pg_error_t err = NULL;

  if (cfg->metrics_counters == NULL)
    return;
  hm.on = true;
  /* A holder of the lease lives at most until its own deadline.  */
  hm.stale_ms = cfg->timeout_ms + 1000;
  /* As the index is checked: whoever else could write it, or a directory
     above it, could make the hook write where they like.  */
  if (pg_check_trusted_path (cfg->metrics_counters, "metrics counters file", PG_TRUST_MAY_BE_MISSING, &err)
          < 0
      || metrics_open (cfg->metrics_counters, PG_METRICS_CREATE | PG_METRICS_WRITE, &hm.m, &err) < 0)
    {
      metrics_close (&hm.m);
      note (&err);
      return;
    }
  hm.counting = true;
  pg_deadline_on_expiry (on_deadline);
  /* Within the interval this hook would publish nothing: it prepares
     nothing for it (the first hook after the interval publishes).  */
  if (cfg->metrics_textfile == NULL || metrics_published_within (&hm.m, interval_ms))
    return;
  if (metrics_textfile_open (cfg->metrics_textfile, &hm.t, &err) < 0)
    {
      metrics_textfile_close (&hm.t);
      note (&err);
      return;
    }
  hm.t.min_interval_ms = interval_ms;
  /* node_exporter reads the textfile as its own user, whatever umask the
     runtime gave the hook; the hook creates no other file.  */
  umask (022);
  hm.publishing = true;
}

void
hook_metrics_confine (void)
{
  pg_error_t err = NULL;

  if (hm.publishing && pg_sandbox_confine_writes (hm.t.dirfd, &err) < 0)
    {
      hm.publishing = false;
      note (&err);
    }
}

static void
finish (enum pg_verdict v, const char *const *codes, size_t n, const struct pg_context *ctx)
{
  pg_error_t err = NULL;

  if (!hm.on || hm.done)
    return;
  hm.done = true;
  if (hm.counting && !counted)
    {
      counted = 1;
      metrics_count (hm.m.c, v, codes, n, pg_real_now ());
      if (hm.publishing && metrics_publish (&hm.m, &hm.t, hm.stale_ms, 0, &err) < 0)
        note (&err);
    }
  if (hm.error)
    {
      cleanup_free char *line = xstrdup ("metrics=failed");
      if (ctx && ctx->container_id)
        logfmt_append_max (&line, "container", ctx->container_id, 256);
      logfmt_append_max (&line, "error", hm.error, 1024);
      logfmt_append (&line, "decision_unchanged", "true");
      pg_log_line (LOG_WARNING, line);
    }
}

void
hook_metrics_record_decision (const struct pg_decision *d, const struct pg_context *ctx)
{
  const char *codes[PG_METRICS_REASONS];
  size_t n = 0;

  for (size_t i = 0; i < d->n_reasons && n < PG_METRICS_REASONS; i++)
    codes[n++] = d->reasons[i].code;
  finish (d->verdict, codes, n, ctx);
}

void
hook_metrics_record_error (const char *code, bool allowed, const struct pg_context *ctx)
{
  finish (allowed ? PG_VERDICT_ALLOW : PG_VERDICT_DENY, &code, 1, ctx);
}
