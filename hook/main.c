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
           "identifies the container's image and decides by the policy database whether it\n"
           "may start.  Every decision is logged to syslog (ident patchgate-hook).\n"
           "\n"
           "  -c, --config FILE  hook config (default $PATCHGATE_CONFIG, then " PG_DEFAULT_HOOK_CONFIG ";\n"
           "                     a missing default file means built-in defaults)\n"
           "  -e, --engine NAME  the engine this hook definition serves: crio, podman,\n"
           "                     containers-storage (podman's and CRI-O's shared hooks.d),\n"
           "                     containerd, docker or runc.  Set in the wiring, which only\n"
           "                     root writes; without it, only an engine's own record of\n"
           "                     this bundle, else the bundle's umoci.json, is believed\n"
           "  -h, --help         show this help\n"
           "\n"
           "Environment: PATCHGATE_NOW (RFC 3339) fixes the clock, for tests.\n"
           "Exit status: 0 allowed (or audited), 1 denied by policy, 2 internal error\n"
           "(the start is refused unless the config sets \"on_error\": \"allow\").\n");
}

static int
log_priority (enum pg_verdict v)
{
  return v == PG_VERDICT_DENY ? LOG_WARNING : v == PG_VERDICT_AUDIT ? LOG_NOTICE : LOG_INFO;
}

/* The decision line of an error: refused (or allowed, when the admin
   chose on_error: allow), with the error as its detail and whatever was
   learnt of the container before it.  */
static char *
error_line (const struct pg_hook_config *cfg, const struct pg_gate_result *res, const char *msg)
{
  bool allow = cfg && cfg->on_error_allow;
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
error_stderr (const struct pg_hook_config *cfg, const struct pg_gate_result *res, const char *msg)
{
  const char *container = res && res->container_id ? res->container_id : "?";
  char *out = NULL;

  if (cfg && cfg->on_error_allow)
    xasprintf (&out, "patchgate: warning: allowed container %s despite an error (on_error: allow): %s\n",
               container, msg);
  else
    xasprintf (&out, "patchgate: refused container %s: internal error: %s\n", container, msg);
  return out;
}

/* An error still yields one decision line (syslog, else stderr) and the
   one line on stderr.  */
static int
fail (const struct pg_hook_config *cfg, const struct pg_gate_result *res, pg_error_t *err)
{
  bool allow = cfg && cfg->on_error_allow;
  cleanup_free char *line = error_line (cfg, res, (*err)->msg);
  cleanup_free char *out = error_stderr (cfg, res, (*err)->msg);

  pg_log_line (LOG_ERR, line);
  fputs (out, stderr);
  pg_deadline_settle (allow ? EXIT_ALLOW : EXIT_ERROR);
  pg_error_release (err);
  return allow ? EXIT_ALLOW : EXIT_ERROR;
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
  line = error_line (cfg, res, msg);
  out = error_stderr (cfg, res, msg);
  pg_log_prepare_emergency (LOG_ERR, line, out);
  pg_deadline_set_status (cfg && cfg->on_error_allow ? EXIT_ALLOW : EXIT_ERROR);
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
  if (hook_config_load (config_path, &cfg, &err) < 0)
    {
      hook_config_free (&cfg);
      return fail (NULL, NULL, &err);
    }
  /* Checked by resolve_identity (identify/resolve.c): an unknown name is
     an error there, logged with the container it concerns.  */
  cfg.engine = engine ? xstrdup (engine) : NULL;
  pg_log_set_facility (cfg.syslog_facility);
  prepare_deadline (&cfg, NULL, cfg.timeout_ms);
  if (pg_deadline_arm (cfg.timeout_ms) < 0)
    pg_make_error (&err, errno, "arming the deadline");

  if (err || pg_now (&now, &err) < 0
      || read_all_fd (0, "OCI state (stdin)", PG_MAX_STATE_SIZE, &state, &len, &err) < 0)
    {
      ret = fail (&cfg, NULL, &err);
      hook_config_free (&cfg);
      return ret;
    }

  /* gate_prepare, in its two halves, so that a deadline while the
     database is locked names the container.  */
  if (gate_identify (&cfg, state, len, "OCI state (stdin)", &res, &err) < 0)
    goto error;
  prepare_deadline (&cfg, &res, cfg.timeout_ms);
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
