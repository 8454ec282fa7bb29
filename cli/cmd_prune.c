/* patchgate prune: drop the scans that no decision reads, and give the
   space back.  */
#include "cli.h"
#include "config/hook_config.h"
#include "store/store.h"
#include "base/clock.h"

#include <errno.h>
#include <getopt.h>
#include <unistd.h>

static void
prune_usage (FILE *out)
{
  fprintf (out,
           "Usage: patchgate prune [--db FILE] [--index FILE] [--keep DURATION] [--config FILE]\n"
           "Remove old scans from the policy database and reclaim the space.\n"
           "\n"
           "Kept whatever their age: for each image the newest scan of each scanner (with\n"
           "its findings and packages: what decisions read), and every image, digest and\n"
           "name with when it was first seen, when each fix was first known, the OpenVEX\n"
           "statements and the policy.  So a pruned database decides and explains every\n"
           "image exactly as before.  Every other scan older than DURATION goes, and the\n"
           "file is rewritten without the free space (SQLite's VACUUM, in place, after the\n"
           "pruning's transaction is committed); then the policy index is brought up to\n"
           "date.\n"
           "\n"
           "Options:\n"
           "      --db FILE        policy database (default %s)\n"
           "      --keep DURATION  also keep every scan newer than this (\"30d\"); default:\n"
           "                       the hook config's scan_history when it is a duration,\n"
           "                       else 0 (only what decisions read)\n"
           "      --config FILE    the hook config to read scan_history from\n"
           "      --index FILE     policy index (default: beside the database, X.db -> X.idx)\n"
           "  -h, --help           show this help\n"
           "\n"
           "Exit status: 0 pruned (or nothing to prune), 2 an error.\n",
           PG_DEFAULT_DB);
}

/* --keep, else the config's scan_history, else 0.  */
static int
keep_duration (const char *keep, const char *config, int64_t *out, pg_error_t *err)
{
  cleanup_hook_config struct pg_hook_config cfg = { 0 };

  if (keep)
    {
      if (parse_duration (keep, out) < 0)
        return pg_make_error (err, 0, "--keep: `%s` is not a duration (e.g. 30d, 12h)", keep);
      return 0;
    }
  if (hook_config_load (hook_config_env_path (config), &cfg, err) < 0)
    return -1;
  *out = cfg.scan_history > 0 ? cfg.scan_history : 0;
  return 0;
}

int
cmd_prune (int argc, char **argv)
{
  static const struct option options[] = {
    { "db", required_argument, NULL, 'd' },     { "keep", required_argument, NULL, 'k' },
    { "config", required_argument, NULL, 'c' }, { "index", required_argument, NULL, 'i' },
    { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
  };
  cleanup_error pg_error_t err = NULL;
  cleanup_store_edit struct pg_store_edit edit = PG_STORE_EDIT_INIT;
  struct pg_prune_stats st;
  const char *db = PG_DEFAULT_DB, *keep = NULL, *config = NULL, *index = NULL;
  int64_t now, history;
  int c;

  optind = 0;
  while ((c = getopt_long (argc, argv, "h", options, NULL)) != -1)
    switch (c)
      {
      case 'd':
        db = optarg;
        break;
      case 'k':
        keep = optarg;
        break;
      case 'c':
        config = optarg;
        break;
      case 'i':
        index = optarg;
        break;
      case 'h':
        prune_usage (stdout);
        return 0;
      default:
        fprintf (stderr, "Try `patchgate prune --help`.\n");
        return 2;
      }
  if (optind != argc)
    {
      pg_make_error (&err, 0, "prune: unexpected argument `%s` (try `patchgate prune --help`)", argv[optind]);
      return cli_fail (&err);
    }
  if (keep_duration (keep, config, &history, &err) < 0 || pg_now (&now, &err) < 0)
    return cli_fail (&err);
  /* A database that does not exist is not created by pruning it.  */
  if (access (db, F_OK) < 0)
    {
      pg_make_error (&err, errno, "policy database %s", db);
      return cli_fail (&err);
    }
  if (store_edit_begin (db, &edit, &err) < 0 || store_prune (edit.store, now - history, true, &st, &err) < 0
      || store_edit_commit (&edit, &err) < 0)
    return cli_fail (&err);
  if (st.vacuumed)
    st.bytes_after = edit.bytes_after;
  printf ("pruned %lld %s (%lld findings, %lld packages); %lld bytes -> %lld bytes\n", (long long) st.scans,
          st.scans == 1 ? "scan" : "scans", (long long) st.vulns, (long long) st.packages,
          (long long) st.bytes_before, (long long) st.bytes_after);
  /* Committed: now the index the hook reads.  */
  return cli_refresh_index (db, index, now);
}
