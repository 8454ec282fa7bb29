/* patchgate-hook: the OCI hook.  Thin by design: read the state, let the
 * library decide, log, and exit 0 (allow, audit), 1 (denied) or 2 (error,
 * refused unless the config says on_error: allow).
 */
#include "gate.h"

#include <getopt.h>
#include <string.h>
#include <syslog.h>

#define EXIT_ALLOW 0
#define EXIT_DENIED 1
#define EXIT_ERROR 2

static void
usage (FILE *out)
{
  fprintf (out, "Usage: patchgate-hook [--config FILE]\n"
                "\n"
                "OCI runtime hook (createRuntime or prestart stage): reads the OCI state on stdin,\n"
                "identifies the container's image and decides by the policy database whether it\n"
                "may start.  Every decision is logged to syslog (ident patchgate-hook).\n"
                "\n"
                "  -c, --config FILE  hook config (default $PATCHGATE_CONFIG, then " PG_DEFAULT_HOOK_CONFIG ";\n"
                "                     a missing default file means built-in defaults)\n"
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

/* An error still yields one decision line: refused (or allowed, when the
   admin chose on_error: allow), with the error as its detail and whatever
   was learnt of the container before it.  */
static int
fail (const struct pg_hook_config *cfg, const struct pg_gate_result *res, pg_error_t *err)
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
  logfmt_append (&line, "on_error", allow ? "allow" : "deny");
  logfmt_append (&line, "error", (*err)->msg);
  syslog (LOG_ERR, "%s", line);
  if (!allow)
    fprintf (stderr, "patchgate: refused container %s: internal error: %s\n", container ? container : "?",
             (*err)->msg);
  else
    fprintf (stderr, "patchgate: warning: allowed container %s despite an error (on_error: allow): %s\n",
             container ? container : "?", (*err)->msg);
  free (line);
  pg_error_release (err);
  return allow ? EXIT_ALLOW : EXIT_ERROR;
}

int
main (int argc, char **argv)
{
  static const struct option opts[]
      = { { "config", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
  struct pg_hook_config cfg;
  struct pg_gate_result res;
  const char *config_path = NULL;
  pg_error_t err = NULL;
  cleanup_free char *state = NULL;
  cleanup_free char *line = NULL;
  size_t len = 0;
  int64_t now;
  int c, ret;

  while ((c = getopt_long (argc, argv, "c:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'c':
        config_path = optarg;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return EXIT_ERROR;
      }

  openlog ("patchgate-hook", LOG_PID, LOG_AUTHPRIV);
  if (hook_config_load (config_path, &cfg, &err) < 0)
    return fail (NULL, NULL, &err);
  closelog ();
  openlog ("patchgate-hook", LOG_PID, cfg.syslog_facility);

  if (pg_now (&now, &err) < 0 || read_all_fd (0, "OCI state (stdin)", PG_MAX_STATE_SIZE, &state, &len, &err) < 0)
    return fail (&cfg, NULL, &err);

  if (gate_decide (&cfg, state, len, "OCI state (stdin)", now, &res, &err) < 0)
    {
      ret = fail (&cfg, &res, &err);
      gate_result_free (&res);
      hook_config_free (&cfg);
      return ret;
    }

  line = decision_logfmt (&res.decision, &res.ctx);
  syslog (log_priority (res.decision.verdict), "%s", line);
  ret = EXIT_ALLOW;
  if (res.decision.verdict == PG_VERDICT_DENY)
    {
      cleanup_free char *why = decision_summary (&res.decision, &res.ctx);
      fprintf (stderr, "patchgate: refused container %s: %s\n", res.container_id, why);
      ret = EXIT_DENIED;
    }
  gate_result_free (&res);
  hook_config_free (&cfg);
  return ret;
}
