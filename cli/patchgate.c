/* patchgate: the admin CLI.  Each subcommand lives in policy/cmd_*.c. */
#include "cli.h"
#include "index/index.h"

#include <string.h>

static const struct
{
  const char *name;
  int (*run) (int argc, char **argv);
  const char *help;
} commands[] = {
  { "import", cmd_import, "import Trivy or Grype reports and OpenVEX documents into the database" },
  { "policy", cmd_policy, "set, show or validate the policy" },
  { "check", cmd_check, "explain the decision the hook would make" },
  { "status", cmd_status, "policy version, counts, newest scan, database age" },
  { "vercmp", cmd_vercmp, "compare two package versions as dpkg, rpm or apk does" },
  { "bundle", cmd_bundle, "build, sign or verify a signed policy bundle" },
  { "sync", cmd_sync, "fetch, verify and activate the policy bundle at a URL" },
  { "activate", cmd_activate, "verify and activate a policy bundle file" },
  { "index", cmd_index, "compile the decision index by hand, or show how it stands" },
};

int
cli_fail (pg_error_t *err)
{
  fprintf (stderr, "patchgate: %s\n", (err && *err) ? (*err)->msg : "unknown error");
  pg_error_release (err);
  return 2;
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
  fprintf (out, "Usage: patchgate COMMAND [OPTIONS]\n\nCommands:\n");
  for (size_t i = 0; i < sizeof (commands) / sizeof (commands[0]); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, commands[i].help);
  fprintf (out, "\nEvery command that reads or writes the database takes --db FILE\n"
                "(default "
                "/var/lib/patchgate/policy.db"
                ").  `patchgate COMMAND --help` for details.\n"
                "Exit status: 0 success (check: allow or audit), 1 denied (check), 2 error.\n");
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  for (size_t i = 0; i < sizeof (commands) / sizeof (commands[0]); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "patchgate: unknown command `%s`\n", argv[1]);
  usage (stderr);
  return 2;
}
