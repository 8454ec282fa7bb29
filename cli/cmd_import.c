/* patchgate import: record scanner reports in the policy database.  */
#include "cli.h"
#include "import/import.h"
#include "store/store.h"
#include "index/index.h"
#include "base/clock.h"

#include <getopt.h>

static void
import_usage (FILE *out)
{
  fprintf (out,
           "Usage: patchgate import [--db FILE] [--index FILE] FILE|DIR|- ...\n"
           "Record Trivy or Grype JSON scan reports in the policy database.\n"
           "\n"
           "  FILE   one report, from `trivy image --format json IMAGE` or `grype IMAGE -o json`\n"
           "         (the format is detected from the content)\n"
           "  DIR    every *.json file directly in DIR, in name order (subdirectories are not read)\n"
           "  -      a stream of concatenated JSON reports on stdin\n"
           "\n"
           "OpenVEX documents are recognised too: their not_affected and fixed statements\n"
           "for image digests clear those vulnerabilities for vex_max_age (see the policy).\n"
           "\n"
           "All reports are recorded in one transaction: if one fails, none is, and the\n"
           "error names the report.  Importing a scan that is already recorded is harmless.\n"
           "Then the policy index, which the hook decides from, is brought up to date.\n"
           "\n"
           "Options:\n"
           "      --db FILE     policy database (default %s; created if missing)\n"
           "      --index FILE  policy index (default: beside the database, X.db -> X.idx)\n"
           "  -h, --help        show this help\n",
           PG_DEFAULT_DB);
}

static const char *
plural (size_t n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

int
cmd_import (int argc, char **argv)
{
  static const struct option options[] = {
    { "db", required_argument, NULL, 'd' },
    { "index", required_argument, NULL, 'i' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_error pg_error_t err = NULL;
  cleanup_store pg_store *store = NULL;
  struct import_stats stats = { 0 };
  const char *db = PG_DEFAULT_DB;
  const char *index = NULL;
  int64_t now;
  int c;

  optind = 0;
  while ((c = getopt_long (argc, argv, "h", options, NULL)) != -1)
    switch (c)
      {
      case 'd':
        db = optarg;
        break;
      case 'i':
        index = optarg;
        break;
      case 'h':
        import_usage (stdout);
        return 0;
      default:
        fprintf (stderr, "Try `patchgate import --help`.\n");
        return 2;
      }
  if (optind >= argc)
    {
      pg_make_error (&err, 0, "import: no report given (try `patchgate import --help`)");
      return cli_fail (&err);
    }
  if (pg_now (&now, &err) < 0 || store_open (db, PG_STORE_CREATE, &store, &err) < 0
      || import_paths (store, argv + optind, (size_t) (argc - optind), now, &stats, &err) < 0)
    return cli_fail (&err);
  store_close (store);
  store = NULL;
  printf ("imported %zu %s: %zu new %s, %zu already present, %zu %s\n", stats.reports,
          plural (stats.reports, "report", "reports"), stats.scans_added,
          plural (stats.scans_added, "scan", "scans"), stats.scans_present, stats.vulns,
          plural (stats.vulns, "vulnerability", "vulnerabilities"));
  if (stats.vex)
    printf ("recorded %zu OpenVEX %s\n", stats.vex, plural (stats.vex, "statement", "statements"));

  /* Committed: now the index the hook reads.  */
  return cli_refresh_index (db, index, now);
}
