/* patchgate-hook: the OCI hook.  Thin by design: read the state, let the
 * library decide, log, and exit 0 (allow, audit), 1 (denied) or 2 (error,
 * refused unless the config says on_error: allow).
 */
#include "gate/gate.h"
#include "report/report.h"
#include "deadline.h"
#include "hook_metrics.h"
#include "logsink.h"
#include "sandbox.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/json.h"
#include "base/trusted_path.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <syslog.h>

#define EXIT_ALLOW 0
#define EXIT_DENIED 1
#define EXIT_ERROR 2

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: patchgate-hook [--config FILE] [--engine NAME]\n"
           "\n"
           "OCI runtime hook (createRuntime or prestart stage): reads the OCI state on stdin,\n"
           "identifies the container's image and decides by the policy index (the policy and\n"
           "the database compiled into one file) whether it may start.  Every decision is\n"
           "logged to syslog (ident patchgate-hook).\n"
           "\n"
           "  -c, --config FILE  hook config (default " PG_DEFAULT_HOOK_CONFIG "; a missing default\n"
           "                     file means built-in defaults).  Never taken from the\n"
           "                     environment: the hook definition names it\n"
           "  -e, --engine NAME  the engine this hook definition serves: crio, podman,\n"
           "                     containers-storage (podman's and CRI-O's shared hooks.d),\n"
           "                     containerd, docker or runc.  Set in the wiring, which only\n"
           "                     root writes; without it, only an engine's own record of\n"
           "                     this bundle, else the bundle's umoci.json, is believed\n"
           "  -h, --help         show this help\n"
           "\n"
           "The hook's environment is whoever ran the runtime's: nothing in it is read,\n"
           "except PATCHGATE_NOW (RFC 3339), which fixes the clock only when the hook\n"
           "config sets the test-only \"test_clock\": true.\n"
           "\n"
           "With metrics_textfile or metrics_counters in the hook config, each decision is\n"
           "counted once logged, and the node_exporter textfile rendered (patchgate metrics\n"
           "prints the counts); a metrics failure never changes the decision.\n"
           "\n"
           "The hook config, the policy index and every directory above them must be\n"
           "root's and not writable by group or others (sticky directories such as /tmp\n"
           "excepted above the file's own directory); otherwise the start is refused,\n"
           "whatever on_error says.\n"
           "\n"
           "Exit status: 0 allowed (or audited), 1 denied by policy, 2 error: a fault of the\n"
           "host (index or database missing, corrupt or stale, config unreadable) is refused unless the\n"
           "config sets \"on_error\": \"allow\"; an oversized or malformed state or\n"
           "config.json (INVALID_INPUT), or a config or index others could write, always\n"
           "is.\n");
}

static int
log_priority (enum pg_verdict v)
{
  return v == PG_VERDICT_DENY ? LOG_WARNING : v == PG_VERDICT_AUDIT ? LOG_NOTICE : LOG_INFO;
}

/* What failed: the host (index, database, config: on_error decides,
   POLICY_ERROR); the container's own input (its state, config.json, its
   image's metadata: always refused, INVALID_INPUT); or what someone other
   than root could have written (a config or index others may write, a
   bad test clock: an attack signal, always refused, POLICY_ERROR).  */
enum fault
{
  FAULT_HOST,
  FAULT_INPUT,
  FAULT_UNSAFE,
};

static bool
fault_allowed (const struct pg_hook_config *cfg, enum fault f)
{
  return f == FAULT_HOST && cfg && cfg->on_error_allow;
}

static const char *
fault_code (enum fault f)
{
  return f == FAULT_INPUT ? "INVALID_INPUT" : "POLICY_ERROR";
}

/* An error still yields one decision line (syslog, else stderr) and the
   one line on stderr, with whatever was learnt of the container.  */
static int
fail (const struct pg_hook_config *cfg, const struct pg_gate_result *res, enum fault f, pg_error_t *err)
{
  bool allow = fault_allowed (cfg, f);
  const struct pg_context *ctx = res ? &res->ctx : NULL;

  if (f == FAULT_UNSAFE)
    pg_error_wrap (err, "refused whatever on_error says");
  cleanup_free char *line = report_error_logfmt (ctx, fault_code (f), allow, (*err)->msg);
  cleanup_free char *out = report_stderr_error (ctx, fault_code (f), allow, (*err)->msg);

  pg_log_line (LOG_ERR, line);
  fputs (out, stderr);
  pg_deadline_settle (allow ? EXIT_ALLOW : EXIT_ERROR);
  /* Counted once logged and settled; nothing it does changes the exit.  */
  hook_metrics_record_error (fault_code (f), allow, ctx);
  pg_error_release (err);
  return allow ? EXIT_ALLOW : EXIT_ERROR;
}

/* The hook's clock: the real one, unless the config allows PATCHGATE_NOW
   for tests.  *TEST_NOW is the time PATCHGATE_NOW gave, for the decision
   line, or NULL.  */
static int
hook_now (const struct pg_hook_config *cfg, int64_t *now, char **test_now, pg_error_t *err)
{
  bool from_env = false;

  *test_now = NULL;
  if (!cfg->test_clock)
    {
      *now = pg_real_now ();
      return 0;
    }
  if (pg_now_env (now, &from_env, err) < 0)
    return pg_error_wrap (err, "hook config %s sets test_clock", cfg->path ? cfg->path : "?");
  if (from_env)
    {
      char buf[64];
      format_rfc3339 (*now, buf, sizeof (buf));
      *test_now = xstrdup (buf);
    }
  return 0;
}

/* What the deadline's signal handler says (hook/deadline.h): prepared now,
   from what is known so far.  Rendered again only when that changes (the
   log's facility and socket reframe it themselves: hook/logsink.c): each
   rendering costs about 5% of the hook's instructions.  */
static void
prepare_deadline (const struct pg_hook_config *cfg, const struct pg_gate_result *res, int64_t timeout_ms)
{
  static bool prepared, was_allowed;
  static int64_t was_timeout;
  bool allowed = fault_allowed (cfg, FAULT_HOST);
  cleanup_free char *msg = NULL;
  cleanup_free char *line = NULL;
  cleanup_free char *out = NULL;

  pg_deadline_set_status (cfg && cfg->on_error_allow ? EXIT_ALLOW : EXIT_ERROR);
  if (prepared && res == NULL && allowed == was_allowed && timeout_ms == was_timeout)
    return;
  prepared = true;
  was_allowed = allowed;
  was_timeout = timeout_ms;
  xasprintf (&msg, "the hook's deadline of %lld ms passed before a decision (hook config `timeout`)",
             (long long) timeout_ms);
  line = report_error_logfmt (res ? &res->ctx : NULL, fault_code (FAULT_HOST), allowed, msg);
  out = report_stderr_error (res ? &res->ctx : NULL, fault_code (FAULT_HOST), allowed, msg);
  pg_log_prepare_emergency (LOG_ERR, line, out);
}

/* The order matters, and tests/integration/hardening.bats checks it under
   strace: the capabilities are cut (hook/sandbox.h) before anything is
   read; every outside input is read and the index opened
   (gate_prepare) before every capability is dropped and the seccomp
   allowlist is loaded; only then is the decision made.  */
int
main (int argc, char **argv)
{
  static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
                                        { "engine", required_argument, NULL, 'e' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct pg_hook_config cfg;
  struct pg_gate_result res;
  const char *config_path = NULL;
  const char *engine = NULL;
  pg_error_t err = NULL;
  cleanup_free char *state = NULL;
  cleanup_free char *line = NULL;
  cleanup_free char *test_now = NULL;
  size_t len = 0;
  int64_t now;
  enum fault fault = FAULT_HOST;
  int c, ret;

  while ((c = getopt_long (argc, argv, "c:e:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'c':
        config_path = optarg;
        break;
      case 'e':
        engine = optarg;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return EXIT_ERROR;
      }

  pg_json_seed ();
  prepare_deadline (NULL, NULL, PG_DEFAULT_TIMEOUT_MS);
  if (pg_deadline_arm (PG_DEFAULT_TIMEOUT_MS) < 0)
    {
      pg_make_error (&err, errno, "arming the deadline");
      return fail (NULL, NULL, FAULT_HOST, &err);
    }
  if (pg_sandbox_init_caps (&err) < 0)
    return fail (NULL, NULL, FAULT_HOST, &err);
  /* Connected now, used inside the sandbox (hook/logsink.h).  */
  pg_log_open ("patchgate-hook", LOG_AUTHPRIV);
  /* Nothing of a config anyone but root could have written is believed,
     not even its on_error.  A missing default file is fine when nobody
     else could create it; a missing named one is the loader's error.  */
  if (pg_check_trusted_path (config_path ? config_path : PG_DEFAULT_HOOK_CONFIG, "hook config",
                             PG_TRUST_MAY_BE_MISSING, &err)
      < 0)
    return fail (NULL, NULL, FAULT_UNSAFE, &err);
  if (hook_config_load (config_path, &cfg, &err) < 0)
    {
      hook_config_free (&cfg);
      return fail (NULL, NULL, FAULT_HOST, &err);
    }
  /* Checked by resolve_identity (identify/resolve.c): an unknown name is
     an error there, logged with the container it concerns.  */
  cfg.engine = engine ? xstrdup (engine) : NULL;
  pg_log_set_facility (cfg.syslog_facility);
  prepare_deadline (&cfg, NULL, cfg.timeout_ms);
  if (pg_deadline_arm (cfg.timeout_ms) < 0)
    pg_make_error (&err, errno, "arming the deadline");
  /* The metrics' files, opened while the hook still may (off unless the
     config names them; never a reason to refuse).  */
  hook_metrics_prepare (&cfg);

  if (err)
    {
      ret = fail (&cfg, NULL, FAULT_HOST, &err);
      hook_config_free (&cfg);
      return ret;
    }
  /* A bad PATCHGATE_NOW under test_clock is no fault of the host.  */
  if (hook_now (&cfg, &now, &test_now, &err) < 0)
    {
      ret = fail (&cfg, NULL, FAULT_UNSAFE, &err);
      hook_config_free (&cfg);
      return ret;
    }
  if (read_all_fd (0, "OCI state (stdin)", PG_MAX_STATE_SIZE, &state, &len, &err) < 0)
    {
      ret = fail (&cfg, NULL, FAULT_INPUT, &err);
      hook_config_free (&cfg);
      return ret;
    }

  /* gate_prepare, in its two halves, so that a deadline while the index
     is read names the container.  */
  if (gate_identify (&cfg, state, len, "OCI state (stdin)", &res, &err) < 0)
    {
      fault = res.host_fault ? FAULT_HOST : FAULT_INPUT;
      goto error;
    }
  /* A test clock is never silent.  */
  res.ctx.test_clock = test_now;
  prepare_deadline (&cfg, &res, cfg.timeout_ms);
  /* As for the config: whoever can write the index decides; a missing
     one stays a fault of the host (on_error applies), as long as nobody
     else could create it.  */
  if (pg_check_trusted_path (cfg.policy_index, "policy index", PG_TRUST_MAY_BE_MISSING, &err) < 0
      /* The database too: whoever can write it writes the next index.  */
      || pg_check_trusted_path (cfg.policy_db, "policy database", PG_TRUST_MAY_BE_MISSING, &err) < 0)
    {
      fault = FAULT_UNSAFE;
      goto error;
    }
  if (gate_open_index (&cfg, &res, &err) < 0)
    goto error;
#ifndef PG_HOOK_NO_SECCOMP
  hook_metrics_confine ();
  if (pg_sandbox_enter (&err) < 0 || gate_decide_prepared (&res, now, &err) < 0)
    goto error;
#else
  /* Only in build/tests/patchgate-hook-valgrind (the Makefile), never in
     patchgate-hook: valgrind cannot emulate seccomp(2), which the real
     hook refuses to run without.  */
  if (pg_sandbox_drop_caps (&err) < 0 || gate_decide_prepared (&res, now, &err) < 0)
    goto error;
#endif

  line = report_logfmt (&res.decision, &res.ctx);
  pg_log_line (log_priority (res.decision.verdict), line);
  ret = EXIT_ALLOW;
  if (res.decision.verdict == PG_VERDICT_DENY)
    {
      cleanup_free char *why = report_stderr_refusal (&res.decision, &res.ctx);
      fputs (why, stderr);
      ret = EXIT_DENIED;
    }
  pg_deadline_settle (ret);
  /* After the decision is logged and its exit settled: count it, publish
     the textfile.  A failure is logged once and changes nothing.  */
  hook_metrics_record_decision (&res.decision, &res.ctx);
  gate_result_free (&res);
  hook_config_free (&cfg);
  return ret;

error:
  ret = fail (&cfg, &res, fault, &err);
  gate_result_free (&res);
  hook_config_free (&cfg);
  return ret;
}
