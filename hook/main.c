/* patchgate-hook: the OCI hook.  Thin by design: read the state, let the
 * library decide, log, and exit 0 (allow, audit), 1 (denied) or 2 (error,
 * refused unless the config says on_error: allow).
 */
#include "gate/gate.h"
#include "deadline.h"
#include "logsink.h"
#include "sandbox.h"
#include "base/clock.h"
#include "base/file.h"
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
  fprintf (out, "Usage: patchgate-hook [--config FILE] [--engine NAME]\n"
                "\n"
                "OCI runtime hook (createRuntime or prestart stage): reads the OCI state on stdin,\n"
                "identifies the container's image and decides by the policy database whether it\n"
                "may start.  Every decision is logged to syslog (ident patchgate-hook).\n"
                "\n"
                "  -c, --config FILE  hook config (default " PG_DEFAULT_HOOK_CONFIG "; a missing default\n"
                "                     file means built-in defaults).  Never taken from the\n"
                "                     environment: the hook definition names it\n"
                "  -e, --engine NAME  the engine this hook definition serves (crio, podman,\n"
                "                     containerd, docker, runc), set in the wiring\n"
                "  -h, --help         show this help\n"
                "\n"
                "The hook's environment is whoever ran the runtime's: nothing in it is read,\n"
                "except PATCHGATE_NOW (RFC 3339), which fixes the clock only when the hook\n"
                "config sets the test-only \"test_clock\": true.\n"
                "\n"
                "The hook config, the policy database and every directory above them must be\n"
                "root's and not writable by group or others (sticky directories such as /tmp\n"
                "excepted above the file's own directory); otherwise the start is refused,\n"
                "whatever on_error says.\n"
                "\n"
                "Exit status: 0 allowed (or audited), 1 denied by policy, 2 internal error\n"
                "(the start is refused unless the config sets \"on_error\": \"allow\").\n");
}

static int
log_priority (enum pg_verdict v)
{
  return v == PG_VERDICT_DENY ? LOG_WARNING : v == PG_VERDICT_AUDIT ? LOG_NOTICE : LOG_INFO;
}

/* Whether an error lets the container start: only when the admin chose
   on_error: allow, and only for faults of the host (TOLERABLE); a config or
   database that someone else could have written is an attack signal.  */
static bool
error_allows (const struct pg_hook_config *cfg, bool tolerable)
{
  return tolerable && cfg && cfg->on_error_allow;
}

/* The decision line of an error: refused (or allowed, when the admin
   chose on_error: allow), with the error as its detail and whatever was
   learnt of the container before it.  */
static char *
error_line (bool allow, const struct pg_gate_result *res, const char *msg)
{
  const char *container = res && res->container_id ? res->container_id : NULL;
  char *line = NULL;

  logfmt_append (&line, "decision", allow ? "allow" : "deny");
  logfmt_append (&line, "container", container ? container : "");
  if (res && res->identity.image_ref)
    logfmt_append (&line, "image", res->identity.image_ref);
  if (res && res->identity.digest)
    logfmt_append (&line, "digest", res->identity.digest);
  logfmt_append (&line, "reasons", "POLICY_ERROR");
  if (res && res->identity.engine)
    logfmt_append (&line, "engine", res->identity.engine);
  if (res && res->identity.conflict)
    logfmt_append (&line, "conflict", res->identity.conflict);
  logfmt_append (&line, "on_error", allow ? "allow" : "deny");
  logfmt_append (&line, "error", msg);
  return line;
}

static char *
error_stderr (bool allow, const struct pg_gate_result *res, const char *msg)
{
  const char *container = res && res->container_id ? res->container_id : "?";
  char *out = NULL;

  if (allow)
    xasprintf (&out, "patchgate: warning: allowed container %s despite an error (on_error: allow): %s\n",
               container, msg);
  else
    xasprintf (&out, "patchgate: refused container %s: internal error: %s\n", container, msg);
  return out;
}

/* An error still yields one decision line (syslog, else stderr) and the
   one line on stderr.  */
static int
fail_as (bool allow, const struct pg_gate_result *res, pg_error_t *err)
{
  cleanup_free char *line = error_line (allow, res, (*err)->msg);
  cleanup_free char *out = error_stderr (allow, res, (*err)->msg);

  pg_log_line (LOG_ERR, line);
  fputs (out, stderr);
  pg_deadline_settle (allow ? EXIT_ALLOW : EXIT_ERROR);
  pg_error_release (err);
  return allow ? EXIT_ALLOW : EXIT_ERROR;
}

static int
fail (const struct pg_hook_config *cfg, const struct pg_gate_result *res, pg_error_t *err)
{
  return fail_as (error_allows (cfg, true), res, err);
}

/* Refused whatever on_error says (see error_allows).  */
static int
refuse (const struct pg_gate_result *res, pg_error_t *err)
{
  char *msg = NULL;
  xasprintf (&msg, "%s (refused whatever on_error says)", (*err)->msg);
  free ((*err)->msg);
  (*err)->msg = msg;
  return fail_as (false, res, err);
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
   from what is known so far.  */
static void
prepare_deadline (const struct pg_hook_config *cfg, const struct pg_gate_result *res, int64_t timeout_ms)
{
  cleanup_free char *msg = NULL;
  cleanup_free char *line = NULL;
  cleanup_free char *out = NULL;

  xasprintf (&msg, "the hook's deadline of %lld ms passed before a decision (hook config `timeout`)",
             (long long) timeout_ms);
  line = error_line (error_allows (cfg, true), res, msg);
  out = error_stderr (error_allows (cfg, true), res, msg);
  pg_log_prepare_emergency (LOG_ERR, line, out);
  pg_deadline_set_status (error_allows (cfg, true) ? EXIT_ALLOW : EXIT_ERROR);
}

/* The order matters, and tests/integration/hardening.bats checks it under
   strace: the capabilities are cut (hook/sandbox.h) before anything is
   read; every outside input is read and the database opened
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

  prepare_deadline (NULL, NULL, PG_DEFAULT_TIMEOUT_MS);
  if (pg_deadline_arm (PG_DEFAULT_TIMEOUT_MS) < 0)
    {
      pg_make_error (&err, errno, "arming the deadline");
      return fail (NULL, NULL, &err);
    }
  if (pg_sandbox_init_caps (&err) < 0)
    return fail (NULL, NULL, &err);
  /* Connected now, used inside the sandbox (hook/logsink.h).  */
  pg_log_open ("patchgate-hook", LOG_AUTHPRIV);
  prepare_deadline (NULL, NULL, PG_DEFAULT_TIMEOUT_MS);
  /* Nothing of a config anyone but root could have written is believed,
     not even its on_error.  A missing default file is fine when nobody
     else could create it; a missing named one is the loader's error.  */
  if (pg_check_trusted_path (config_path ? config_path : PG_DEFAULT_HOOK_CONFIG, "hook config",
                             PG_TRUST_MAY_BE_MISSING, &err)
      < 0)
    return refuse (NULL, &err);
  if (hook_config_load (config_path, &cfg, &err) < 0)
    {
      hook_config_free (&cfg);
      return fail (NULL, NULL, &err);
    }
  cfg.engine = engine ? xstrdup (engine) : NULL;
  pg_log_set_facility (cfg.syslog_facility);
  prepare_deadline (&cfg, NULL, cfg.timeout_ms);
  if (pg_deadline_arm (cfg.timeout_ms) < 0)
    pg_make_error (&err, errno, "arming the deadline");
  /* A bad PATCHGATE_NOW under test_clock is no fault of the host.  */
  if (!err && hook_now (&cfg, &now, &test_now, &err) < 0)
    {
      ret = refuse (NULL, &err);
      hook_config_free (&cfg);
      return ret;
    }

  if (err || read_all_fd (0, "OCI state (stdin)", PG_MAX_STATE_SIZE, &state, &len, &err) < 0)
    {
      ret = fail (&cfg, NULL, &err);
      hook_config_free (&cfg);
      return ret;
    }

  /* gate_prepare, in its two halves, so that a deadline while the
     database is read names the container.  */
  if (gate_identify (&cfg, state, len, "OCI state (stdin)", &res, &err) < 0)
    goto error;
  prepare_deadline (&cfg, &res, cfg.timeout_ms);
  /* As for the config; a missing database stays a fault of the host
     (on_error applies), as long as nobody else could create it.  */
  if (pg_check_trusted_path (cfg.policy_db, "policy database", PG_TRUST_MAY_BE_MISSING, &err) < 0)
    {
      ret = refuse (&res, &err);
      gate_result_free (&res);
      hook_config_free (&cfg);
      return ret;
    }
  if (gate_open_store (&cfg, &res, &err) < 0)
    goto error;
#ifndef PG_HOOK_NO_SECCOMP
  if (pg_sandbox_enter (&err) < 0 || gate_decide_prepared (&res, now, &err) < 0)
    goto error;
#else
  /* Only in build/tests/patchgate-hook-valgrind (the Makefile), never in
     patchgate-hook: valgrind cannot emulate seccomp(2), which the real
     hook refuses to run without.  */
  if (pg_sandbox_drop_caps (&err) < 0 || gate_decide_prepared (&res, now, &err) < 0)
    goto error;
#endif

  line = decision_logfmt (&res.decision, &res.ctx);
  /* Two engine-set sources disagreed on the image (identify/resolve.c).  */
  if (res.identity.conflict)
    logfmt_append (&line, "conflict", res.identity.conflict);
  /* A test clock is never silent.  */
  if (test_now)
    logfmt_append (&line, "test_clock", test_now);
  pg_log_line (log_priority (res.decision.verdict), line);
  ret = EXIT_ALLOW;
  if (res.decision.verdict == PG_VERDICT_DENY)
    {
      cleanup_free char *why = decision_summary (&res.decision, &res.ctx);
      fprintf (stderr, "patchgate: refused container %s: %s%s%s%s\n", res.container_id, why,
               res.identity.conflict ? " (the engine's sources disagree: " : "",
               res.identity.conflict ? res.identity.conflict : "", res.identity.conflict ? ")" : "");
      ret = EXIT_DENIED;
    }
  pg_deadline_settle (ret);
  gate_result_free (&res);
  hook_config_free (&cfg);
  return ret;

error:
  ret = fail (&cfg, &res, &err);
  gate_result_free (&res);
  hook_config_free (&cfg);
  return ret;
}
