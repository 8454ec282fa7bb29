/* patchgate sync URL / patchgate activate FILE: verify a signed policy
   bundle against the hook config's trusted_keys and make it the policy
   database, atomically.  Every outcome is printed and logged to syslog
   (ident patchgate, the hook config's facility); on any failure the active
   policy stays and the exit status is 2.  */
#include "cli.h"
#include "base/logfmt.h"
#include "gate/gate.h"
#include "bundle/sync.h"
#include "base/clock.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <syslog.h>

static void
usage_sync (FILE *out)
{
  fprintf (
      out,
      "Usage: patchgate sync URL [--ca FILE] [--config FILE] [--allow-http] [--max-size SIZE]\n"
      "                      [--connect-timeout SECS] [--timeout SECS] [--retries N]\n"
      "\n"
      "Fetch the signature URL.sig and, unless it is the active bundle's, the policy\n"
      "bundle URL; verify them against the hook config's trusted_keys, and activate\n"
      "its decision index as the hook config's policy_index when its serial is higher\n"
      "than the active one (the local database, if any, is not touched).\n"
      "An unchanged bundle costs one request for its 64-byte signature.  The outcome\n"
      "is kept in <policy_db>.sync.json (see `patchgate status`).\n"
      "\n"
      "  --ca FILE              CA certificates to verify the server (default: the system's)\n"
      "  -c, --config FILE      hook config (default $PATCHGATE_CONFIG, then " PG_DEFAULT_HOOK_CONFIG ")\n"
      "  --allow-http           accept a plain http:// URL (the signature is still checked)\n"
      "  --max-size SIZE        refuse a larger bundle: bytes, or with K, M, G (default 1G)\n"
      "  --connect-timeout SECS connect timeout (default %d)\n"
      "  --timeout SECS         total time per attempt (default %d)\n"
      "  --retries N            retries after a transient failure, with back-off and\n"
      "                         jitter (default %d, at most %d)\n"
      "  -h, --help             show this help\n"
      "\n"
      "Proxies: libcurl's https_proxy, no_proxy, ... environment variables apply.\n"
      "Exit status: 0 activated or nothing to do, 2 error (the active policy stays).\n",
      PG_SYNC_DEFAULT_CONNECT_TIMEOUT, PG_SYNC_DEFAULT_TIMEOUT, PG_SYNC_DEFAULT_RETRIES, PG_SYNC_MAX_RETRIES);
}

static void
usage_activate (FILE *out)
{
  fprintf (out,
           "Usage: patchgate activate FILE [--config FILE] [--sig SIG]\n"
           "\n"
           "Verify the policy bundle FILE with FILE.sig against the hook config's\n"
           "trusted_keys, and make its decision index the one the hook reads (the hook\n"
           "config's policy_index) when its serial is higher than the active one.  The\n"
           "local database, if any, is not touched.  No network.\n"
           "\n"
           "  -c, --config FILE  hook config (default $PATCHGATE_CONFIG, then " PG_DEFAULT_HOOK_CONFIG ")\n"
           "  -s, --sig SIG      the signature (default FILE.sig)\n"
           "  -h, --help         show this help\n"
           "\n"
           "Exit status: 0 activated or nothing to do, 2 error (the active policy stays).\n");
}

/* ---- logging ---- */

static void
notice_stderr (const char *msg)
{
  fprintf (stderr, "patchgate: warning: %s\n", msg);
  syslog (LOG_WARNING, "%s", msg);
}

static void
log_line (int priority, const char *action, const char *result, const char *target, const char *extra_key,
          const char *extra)
{
  cleanup_free char *line = NULL;
  logfmt_append (&line, "action", action);
  logfmt_append (&line, "result", result);
  logfmt_append (&line, strcmp (action, "sync") == 0 ? "url" : "file", target);
  if (extra_key)
    logfmt_append (&line, extra_key, extra);
  syslog (priority, "%s", line);
}

static int
fail (const char *action, const char *target, int64_t active_serial, pg_error_t *err)
{
  char serial[32];
  snprintf (serial, sizeof (serial), "%lld", (long long) active_serial);
  {
    cleanup_free char *line = NULL;
    logfmt_append (&line, "action", action);
    logfmt_append (&line, "result", "error");
    logfmt_append (&line, strcmp (action, "sync") == 0 ? "url" : "file", target);
    logfmt_append (&line, "active_serial", serial);
    logfmt_append (&line, "error", (*err)->msg);
    syslog (LOG_ERR, "%s", line);
  }
  fprintf (stderr, "patchgate: %s %s failed: %s; the active policy stays (serial %s)\n", action, target,
           (*err)->msg, active_serial ? serial : "none");
  pg_error_release (err);
  return 2;
}

static void
report_activation (const char *action, const char *target, const struct pg_activate_opts *ao,
                   const struct pg_activate_result *r)
{
  char serial[32], created[32];
  snprintf (serial, sizeof (serial), "%lld", (long long) r->manifest.serial);
  format_rfc3339 (r->manifest.created, created, sizeof (created));
  if (!r->activated)
    {
      printf ("serial %s is already active in %s: nothing to do\n", serial, ao->policy_index);
      log_line (LOG_INFO, action, "unchanged", target, "serial", serial);
      return;
    }
  printf ("activated bundle serial %s (policy %s, created %s, was serial %lld) into %s\n", serial,
          r->manifest.policy_version, created, (long long) r->previous_serial, ao->policy_index);
  {
    cleanup_free char *line = NULL;
    char prev[32];
    snprintf (prev, sizeof (prev), "%lld", (long long) r->previous_serial);
    logfmt_append (&line, "action", action);
    logfmt_append (&line, "result", "activated");
    logfmt_append (&line, strcmp (action, "sync") == 0 ? "url" : "file", target);
    logfmt_append (&line, "serial", serial);
    logfmt_append (&line, "previous_serial", prev);
    logfmt_append (&line, "policy", r->manifest.policy_version);
    logfmt_append (&line, "created", created);
    logfmt_append (&line, "key", r->key);
    syslog (LOG_NOTICE, "%s", line);
  }
}

/* ---- shared set-up ---- */

struct run_env
{
  struct pg_hook_config cfg;
  int lock_fd;
  int64_t now;
};

/* Config, syslog, clock and the lock.  Returns 0, or fails the command.  */
static int
setup (const char *action, const char *target, const char *config, struct run_env *env, pg_error_t *err)
{
  env->lock_fd = -1;
  openlog ("patchgate", LOG_PID, LOG_AUTHPRIV);
  if (hook_config_load (hook_config_env_path (config), &env->cfg, err) < 0)
    return -1;
  closelog ();
  openlog ("patchgate", LOG_PID, env->cfg.syslog_facility);
  if (pg_now (&env->now, err) < 0)
    return -1;
  if (env->cfg.n_trusted_keys == 0)
    return pg_make_error (err, 0,
                          "hook config %s: no trusted_keys: refusing to activate a bundle nobody can verify",
                          env->cfg.path ? env->cfg.path : "(built-in defaults)");
  return policy_lock (env->cfg.policy_db, &env->lock_fd, err);
}

static void
teardown (struct run_env *env)
{
  if (env->lock_fd >= 0)
    close (env->lock_fd);
  hook_config_free (&env->cfg);
  closelog ();
}

static void
activate_opts_from (const struct run_env *env, const char *source, struct pg_activate_opts *ao)
{
  ao->policy_db = env->cfg.policy_db;
  ao->policy_index = env->cfg.policy_index;
  ao->trusted_keys = env->cfg.trusted_keys;
  ao->n_trusted_keys = env->cfg.n_trusted_keys;
  ao->source = source;
  ao->now = env->now;
}

/* ---- option values ---- */

static int
parse_size (const char *s, uint64_t *out)
{
  char *end = NULL;
  unsigned long long v;
  uint64_t mult = 1;

  if (!isdigit ((unsigned char) s[0]))
    return -1;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno || end == s)
    return -1;
  if (*end && end[1] == '\0')
    switch (toupper ((unsigned char) *end))
      {
      case 'K':
        mult = 1ull << 10;
        break;
      case 'M':
        mult = 1ull << 20;
        break;
      case 'G':
        mult = 1ull << 30;
        break;
      default:
        return -1;
      }
  else if (*end)
    return -1;
  if (v == 0 || v > PG_MAX_BUNDLE_SIZE / mult)
    return -1;
  *out = v * mult;
  return 0;
}

static int
parse_long (const char *s, long min, long max, long *out)
{
  char *end = NULL;
  long v;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || end == s || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

/* ---- sync ---- */

struct sync_args
{
  struct pg_sync_opts o;
  const char *config;
};

static int
parse_sync_args (int argc, char **argv, struct sync_args *a, pg_error_t *err)
{
  static const struct option opts[] = {
    { "ca", required_argument, NULL, 'C' },
    { "config", required_argument, NULL, 'c' },
    { "allow-http", no_argument, NULL, 'H' },
    { "max-size", required_argument, NULL, 'm' },
    { "connect-timeout", required_argument, NULL, 'T' },
    { "timeout", required_argument, NULL, 't' },
    { "retries", required_argument, NULL, 'r' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  long v;
  int c;

  a->o.connect_timeout = PG_SYNC_DEFAULT_CONNECT_TIMEOUT;
  a->o.timeout = PG_SYNC_DEFAULT_TIMEOUT;
  a->o.retries = PG_SYNC_DEFAULT_RETRIES;
  while ((c = getopt_long (argc, argv, "c:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'C':
        a->o.ca_file = optarg;
        break;
      case 'c':
        a->config = optarg;
        break;
      case 'H':
        a->o.allow_http = true;
        break;
      case 'm':
        if (parse_size (optarg, &a->o.max_size) < 0)
          return pg_make_error (err, 0, "--max-size: `%s` is not a size (bytes, or with K, M, G; at most 1G)",
                                optarg);
        break;
      case 'T':
      case 't':
        if (parse_long (optarg, 1, 86400, &v) < 0)
          return pg_make_error (err, 0, "--%s: `%s` is not a number of seconds (1..86400)",
                                c == 'T' ? "connect-timeout" : "timeout", optarg);
        *(c == 'T' ? &a->o.connect_timeout : &a->o.timeout) = v;
        break;
      case 'r':
        if (parse_long (optarg, 0, PG_SYNC_MAX_RETRIES, &v) < 0)
          return pg_make_error (err, 0, "--retries: `%s` is not a number from 0 to %d", optarg,
                                PG_SYNC_MAX_RETRIES);
        a->o.retries = (int) v;
        break;
      case 'h':
        usage_sync (stdout);
        return 1;
      default:
        usage_sync (stderr);
        return 2;
      }
  if (optind + 1 != argc)
    {
      usage_sync (stderr);
      return 2;
    }
  a->o.url = argv[optind];
  return 0;
}

int
cmd_sync (int argc, char **argv)
{
  struct sync_args a;
  struct run_env env;
  struct pg_sync_result r;
  pg_error_t err = NULL;
  int ret;

  memset (&a, 0, sizeof (a));
  memset (&env, 0, sizeof (env));
  ret = parse_sync_args (argc, argv, &a, &err);
  if (ret < 0)
    return cli_fail (&err);
  if (ret > 0)
    return ret == 1 ? 0 : 2;
  a.o.notice = notice_stderr;
  if (setup ("sync", a.o.url, a.config, &env, &err) < 0)
    {
      ret = fail ("sync", a.o.url, 0, &err);
      teardown (&env);
      return ret;
    }
  activate_opts_from (&env, a.o.url, &a.o.activate);
  a.o.activate.max_size = a.o.max_size;
  if (sync_run (&a.o, &r, &err) < 0)
    ret = fail ("sync", a.o.url, r.active_serial, &err);
  else if (r.not_modified)
    {
      char serial[32];
      snprintf (serial, sizeof (serial), "%lld", (long long) r.active_serial);
      printf ("not modified (its signature is the active bundle's): serial %s stays active in %s\n", serial,
              env.cfg.policy_index);
      log_line (LOG_INFO, "sync", "not-modified", a.o.url, "serial", serial);
      ret = 0;
    }
  else
    {
      report_activation ("sync", a.o.url, &a.o.activate, &r.act);
      ret = 0;
    }
  sync_result_free (&r);
  teardown (&env);
  return ret;
}

/* ---- activate ---- */

int
cmd_activate (int argc, char **argv)
{
  static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
                                        { "sig", required_argument, NULL, 's' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *config = NULL, *sig = NULL, *file;
  cleanup_free char *default_sig = NULL;
  cleanup_free char *source = NULL;
  struct pg_activate_opts ao = { 0 };
  struct pg_activate_result r;
  struct run_env env;
  pg_error_t err = NULL;
  int64_t active = 0;
  int c, ret;

  while ((c = getopt_long (argc, argv, "c:s:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'c':
        config = optarg;
        break;
      case 's':
        sig = optarg;
        break;
      case 'h':
        usage_activate (stdout);
        return 0;
      default:
        usage_activate (stderr);
        return 2;
      }
  if (optind + 1 != argc)
    {
      usage_activate (stderr);
      return 2;
    }
  file = argv[optind];
  if (sig == NULL)
    {
      xasprintf (&default_sig, "%s.sig", file);
      sig = default_sig;
    }
  source = realpath (file, NULL);
  memset (&env, 0, sizeof (env));
  memset (&r, 0, sizeof (r));
  if (setup ("activate", file, config, &env, &err) < 0)
    ret = fail ("activate", file, 0, &err);
  else
    {
      activate_opts_from (&env, source ? source : file, &ao);
      if (policy_active_serial (ao.policy_db, ao.policy_index, &active, &err) < 0
          || bundle_activate (&ao, file, sig, &r, &err) < 0)
        ret = fail ("activate", file, active, &err);
      else
        {
          report_activation ("activate", file, &ao, &r);
          ret = 0;
        }
    }
  activate_result_free (&r);
  teardown (&env);
  return ret;
}
