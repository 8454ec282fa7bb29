/* patchgate: the admin CLI.  Each subcommand lives in cli/cmd_*.c. */
#include "cli.h"
#include "config/hook_config.h"
#include "store/store.h"
#include "index/index.h"
#include "base/clock.h"

#include <getopt.h>
#include <string.h>

#ifndef PG_VERSION
#define PG_VERSION "unknown"
#endif

static const struct
{
  const char *name;
  int (*run) (int argc, char **argv);
  bool has_action; /* `policy set`, `bundle build`: options follow the action */
  const char *help;
} commands[] = {
  { "import", cmd_import, false, "import Trivy or Grype reports and OpenVEX documents into the database" },
  { "policy", cmd_policy, true, "set, show or validate the policy" },
  { "check", cmd_check, false, "explain the decision the hook would make, or judge a fresh report" },
  { "status", cmd_status, false, "policy version, counts, newest scan, database age" },
  { "vercmp", cmd_vercmp, false, "compare two package versions as dpkg, rpm or apk does" },
  { "bundle", cmd_bundle, true, "build, sign or verify a signed policy bundle" },
  { "sync", cmd_sync, false, "fetch, verify and activate the policy bundle at a URL" },
  { "activate", cmd_activate, false, "verify and activate a policy bundle file" },
  { "doctor", cmd_doctor, false, "check that every engine here runs the hook (--canary: prove it)" },
  { "prune", cmd_prune, false, "remove the old scans no decision reads, and reclaim the space" },
  { "report", cmd_report, true, "reports: rebuilds (images on an older base), expiring (refused soon)" },
  { "index", cmd_index, false, "compile the decision index by hand, or show how it stands" },
  { "audit", cmd_audit, false, "decide every running container again under today's policy" },
  { "metrics", cmd_metrics, false, "the hook's decision counts, in Prometheus's text format (--json)" },
};

int
cli_fail (pg_error_t *err)
{
  fprintf (stderr, "patchgate: %s\n", (err && *err) ? (*err)->msg : "unknown error");
  pg_error_release (err);
  return 2;
}

int
cli_load_hook_config (const char *config, const char *db, const char *index, struct pg_hook_config *cfg,
                      pg_error_t *err)
{
  if (hook_config_load (hook_config_env_path (config), cfg, err) < 0)
    return -1;
  if (db)
    hook_config_set_db (cfg, db);
  if (index)
    {
      free (cfg->policy_index);
      cfg->policy_index = xstrdup (index);
    }
  return 0;
}

int
cli_decision_time (const char *at, int64_t *now, pg_error_t *err)
{
  if (at == NULL)
    return pg_now (now, err);
  if (parse_rfc3339 (at, now) < 0)
    return pg_make_error (err, 0, "--at: `%s` is not an RFC 3339 time (e.g. 2026-11-22T10:00:00Z)", at);
  return 0;
}

int
cli_refresh_index (const char *db, const char *index, int64_t now)
{
  cleanup_free char *derived = index ? NULL : index_path_for_db (db);
  pg_error_t err = NULL;

  struct pg_index_stats st;

  if (index_refresh (db, index ? index : derived, now, &st, &err) == 0)
    {
      if (st.incremental)
        printf ("policy index %s: %llu images (%llu compiled, %llu copied)\n", index ? index : derived,
                (unsigned long long) st.images, (unsigned long long) st.compiled,
                (unsigned long long) st.copied);
      else
        printf ("policy index %s: %llu images compiled\n", index ? index : derived,
                (unsigned long long) st.images);
      return 0;
    }
  pg_error_wrap (&err,
                 "the change is committed, but the policy index is not up to date (the hook decides from "
                 "the previous one for index_max_lag, then refuses; retry with `patchgate index build`)");
  return cli_fail (&err);
}

static void
usage (FILE *out)
{
  fprintf (out, "Usage: patchgate [--db FILE] [--config FILE] COMMAND [OPTIONS]\n"
                "       patchgate --version | --help\n\nCommands:\n");
  for (size_t i = 0; i < sizeof (commands) / sizeof (commands[0]); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, commands[i].help);
  fprintf (out, "\nEvery command that reads or writes the database takes --db FILE\n"
                "(default " PG_DEFAULT_DB "); check, audit, import, prune, sync, activate, doctor,\n"
                "metrics and bundle verify take --config FILE (the hook config).  Both may also\n"
                "come before the command, with the same meaning.  `patchgate COMMAND --help` for\n"
                "details.\n"
                "Exit status: 0 success (check: allow or audit), 1 denied (check), refused\n"
                "now (audit) or not enforced (doctor), 2 error.\n");
}

/* The options that may come before the command.  They are handed to the
   command right after its name (or its action), so that they mean there
   exactly what they mean written there: a later one wins, and a command
   that does not take one fails as it would.  */
struct global_opts
{
  char **moved;
  size_t n_moved;
  bool version;
  bool help;
};

static int
parse_global (int argc, char **argv, struct global_opts *g)
{
  static const struct option opts[] = {
    { "db", required_argument, NULL, 'd' },
    { "config", required_argument, NULL, 'c' },
    { "version", no_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 0;
  opterr = 1;
  /* "+": stop at the command; what follows is the command's own.  */
  while ((c = getopt_long (argc, argv, "+c:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        strv_append (&g->moved, &g->n_moved, "--db");
        strv_append (&g->moved, &g->n_moved, optarg);
        break;
      case 'c':
        strv_append (&g->moved, &g->n_moved, "--config");
        strv_append (&g->moved, &g->n_moved, optarg);
        break;
      case 'V':
        g->version = true;
        break;
      case 'h':
        g->help = true;
        break;
      default:
        return -1;
      }
  return optind;
}

/* ARGV[0..ARGC), the command and its arguments, with G's options inserted
   after the command, or after its action when it has one.  */
static char **
with_global (int argc, char **argv, bool has_action, const struct global_opts *g, int *new_argc)
{
  char **v = xmalloc0 ((size_t) (argc + (int) g->n_moved + 1) * sizeof (*v));
  int at = 1, n = 0;

  if (has_action && argc > 1 && argv[1][0] != '-')
    at = 2;
  for (int i = 0; i < at; i++)
    v[n++] = argv[i];
  for (size_t i = 0; i < g->n_moved; i++)
    v[n++] = g->moved[i];
  for (int i = at; i < argc; i++)
    v[n++] = argv[i];
  *new_argc = n;
  return v;
}

int
main (int argc, char **argv)
{
  struct global_opts g = { 0 };
  cleanup_free char **args = NULL;
  int first, n = 0, ret;

  first = parse_global (argc, argv, &g);
  if (first < 0)
    {
      fprintf (stderr, "Try `patchgate --help`.\n");
      strv_free (g.moved, g.n_moved);
      return 2;
    }
  if (g.version || g.help || (first < argc && strcmp (argv[first], "help") == 0))
    {
      strv_free (g.moved, g.n_moved);
      if (g.version)
        printf ("patchgate %s\n", PG_VERSION);
      else
        usage (stdout);
      return 0;
    }
  if (first >= argc)
    {
      usage (stderr);
      strv_free (g.moved, g.n_moved);
      return 2;
    }
  for (size_t i = 0; i < sizeof (commands) / sizeof (commands[0]); i++)
    if (strcmp (argv[first], commands[i].name) == 0)
      {
        args = with_global (argc - first, argv + first, commands[i].has_action, &g, &n);
        /* Each command parses from the start again.  */
        optind = 0;
        ret = commands[i].run (n, args);
        strv_free (g.moved, g.n_moved);
        return ret;
      }
  fprintf (stderr, "patchgate: unknown command `%s`\n", argv[first]);
  usage (stderr);
  strv_free (g.moved, g.n_moved);
  return 2;
}
