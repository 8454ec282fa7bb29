/* patchgate import: record scanner reports in the policy database.  */
#include "cli.h"
#include "config/hook_config.h"
#include "import/import.h"
#include "store/store.h"
#include "index/index.h"
#include "base/clock.h"

#include <getopt.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

static void
import_usage (FILE *out)
{
  fprintf (out,
           "Usage: patchgate import [--db FILE] [--keep-going] [--keep DURATION|all] [--index FILE] "
           "FILE|DIR|- ...\n"
           "Record Trivy or Grype JSON scan reports in the policy database.\n"
           "\n"
           "  FILE   one report, from `trivy image --format json IMAGE` or `grype IMAGE -o json`\n"
           "         (the format is detected from the content)\n"
           "  DIR    every *.json file in DIR and its subfolders (e.g. <image>/trivy-results.json),\n"
           "         each folder in name order; names starting with `.` are left out, and\n"
           "         symlinks below DIR are not followed (they are listed as skipped)\n"
           "  -      a stream of concatenated JSON reports on stdin\n"
           "\n"
           "OpenVEX documents are recognised too: every statement about an image (by digest,\n"
           "or by repository) is kept, and the latest that applies to a finding decides; a\n"
           "not_affected or fixed one clears it for vex_max_age (see the policy).  Statements\n"
           "that name no image are skipped and counted.\n"
           "\n"
           "All reports are recorded in one transaction: if one fails, none is, and the\n"
           "error names the report.  With --keep-going, each report is recorded on its own,\n"
           "every one that fails is listed with its reason, and the exit status is 2 if any\n"
           "failed.  Importing a scan that is already recorded is harmless.  When stderr is\n"
           "a terminal, an import that takes more than a second shows its progress there.\n"
           "The change is one SQLite transaction on the database: an import killed midway\n"
           "changes nothing, and readers see the database before it or after it.  Writers\n"
           "take turns (a lock file, <db>.lock).  Then the policy index, which the hook\n"
           "decides from, is brought up to date.\n"
           "\n"
           "Options:\n"
           "      --db FILE     policy database (default %s; created if missing, mode\n"
           "                    0600 in a directory created 0700)\n"
           "  -k, --keep-going  import every good report; list the bad ones; exit 2 if any\n"
           "      --keep DURATION|all\n"
           "                    then prune the scans older than DURATION that no decision\n"
           "                    reads, as `patchgate prune --keep DURATION` does; default:\n"
           "                    the hook config's scan_history, \"all\" (prune nothing)\n"
           "                    when it has none\n"
           "      --config FILE the hook config to read scan_history from\n"
           "      --index FILE  policy index (default: beside the database, X.db -> X.idx)\n"
           "  -h, --help        show this help\n"
           "\n"
           "Exit status: 0 every report imported, 2 an error (or, with --keep-going, any\n"
           "report failed).\n",
           PG_DEFAULT_DB);
}

/* How long to keep every scan: --keep, else the hook config's
   scan_history; -1: all of them.  */
static int
scan_history (const char *keep, const char *config, int64_t *out, pg_error_t *err)
{
  cleanup_hook_config struct pg_hook_config cfg = { 0 };

  if (keep)
    {
      if (hook_config_parse_history (keep, out) < 0)
        return pg_make_error (err, 0, "--keep: `%s` is not a duration (e.g. 90d) or `all`", keep);
      return 0;
    }
  if (hook_config_load (hook_config_env_path (config), &cfg, err) < 0)
    return -1;
  *out = cfg.scan_history;
  return 0;
}

static const char *
plural (size_t n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

/* ---- the progress line ---- */

/* Drawn on stderr when it is a terminal, once the import has taken
   PROGRESS_DELAY (a quick import shows nothing), at most every
   PROGRESS_EVERY, and erased at the end, so the summary stays alone.  */
#define PROGRESS_DELAY 1.0
#define PROGRESS_EVERY 0.1

struct progress_bar
{
  bool enabled;
  bool drawn;
  double start;
  double last;
};

static double
monotonic_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
terminal_columns (void)
{
  struct winsize ws;
  if (ioctl (STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
    return ws.ws_col;
  return 80;
}

static void
format_eta (double secs, char *buf, size_t size)
{
  long s = (long) (secs + 0.5);
  if (s >= 3600)
    snprintf (buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf (buf, size, "%ld:%02ld", s / 60, s % 60);
}

static void
draw_progress (const struct import_progress *p, void *data)
{
  struct progress_bar *b = data;
  double now = monotonic_seconds (), elapsed = now - b->start, rate;
  bool last = p->total && p->done == p->total;
  char text[160], eta[32], failed[48] = "";
  int cols = terminal_columns (), width;

  if (!b->enabled || elapsed < PROGRESS_DELAY || (!last && now - b->last < PROGRESS_EVERY))
    return;
  b->last = now;
  rate = (double) p->done / elapsed;
  if (p->failed)
    snprintf (failed, sizeof (failed), "  %zu failed", p->failed);
  if (p->total)
    {
      format_eta ((double) (p->total - p->done) / (rate > 0 ? rate : 1), eta, sizeof (eta));
      snprintf (text, sizeof (text), " %zu/%zu reports  %.1f/s  ETA %s%s", p->done, p->total, rate, eta,
                failed);
    }
  else
    snprintf (text, sizeof (text), " %zu reports  %.1f/s%s", p->done, rate, failed);
  /* "importing [#####.....] 120/300 reports  45.0/s  ETA 0:04", within
     the terminal's width; the bar goes first when the width is short.  */
  width = cols - 1 - (int) strlen ("importing []") - (int) strlen (text);
  fputs ("\r\033[Kimporting", stderr);
  if (p->total && width >= 10)
    {
      int filled = (int) ((double) width * (double) p->done / (double) p->total);
      fputs (" [", stderr);
      for (int i = 0; i < width; i++)
        fputc (i < filled ? '#' : '.', stderr);
      fputc (']', stderr);
    }
  fprintf (stderr, "%.*s", cols > 11 ? cols - 11 : 0, text);
  fflush (stderr);
  b->drawn = true;
}

static void
end_progress (struct progress_bar *b)
{
  if (b->drawn)
    {
      fputs ("\r\033[K", stderr);
      fflush (stderr);
    }
}

/* ---- the summary ---- */

static void
print_summary (const struct import_result *r, const struct pg_prune_stats *pruned)
{
  const struct import_stats *s = &r->stats;

  for (size_t i = 0; i < r->n_skipped; i++)
    fprintf (stderr, "patchgate: skipped %s: %s\n", r->skipped[i].source, r->skipped[i].reason);
  for (size_t i = 0; i < r->n_failures; i++)
    fprintf (stderr, "patchgate: FAILED %s\n", r->failures[i].reason);
  printf ("imported %zu %s: %zu %s, %zu new %s (%zu already present), %zu %s, %zu VEX %s", s->reports,
          plural (s->reports, "report", "reports"), s->images, plural (s->images, "image", "images"),
          s->scans_added, plural (s->scans_added, "scan", "scans"), s->scans_present, s->vulns,
          plural (s->vulns, "finding", "findings"), s->vex, plural (s->vex, "statement", "statements"));
  if (s->vex)
    printf (" for %zu %s", s->vex_images, plural (s->vex_images, "image", "images"));
  if (s->vex_skipped)
    printf ("; %zu skipped: no product", s->vex_skipped);
  if (s->failed)
    printf ("; %zu %s failed", s->failed, plural (s->failed, "report", "reports"));
  if (s->skipped)
    printf ("; %zu skipped", s->skipped);
  if (pruned && pruned->scans)
    printf ("; pruned %lld old %s", (long long) pruned->scans,
            plural ((size_t) pruned->scans, "scan", "scans"));
  putchar ('\n');
}

int
cmd_import (int argc, char **argv)
{
  static const struct option options[] = {
    { "db", required_argument, NULL, 'd' },
    { "keep-going", no_argument, NULL, 'k' },
    { "keep", required_argument, NULL, 'K' },
    { "config", required_argument, NULL, 'c' },
    { "index", required_argument, NULL, 'i' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_error pg_error_t err = NULL;
  cleanup_store_edit struct pg_store_edit edit = PG_STORE_EDIT_INIT;
  struct progress_bar bar = { .enabled = isatty (STDERR_FILENO) == 1 };
  struct import_opts opts = { .progress = draw_progress, .progress_data = &bar };
  struct import_result res;
  const char *db = PG_DEFAULT_DB, *keep = NULL, *config = NULL, *index = NULL;
  struct pg_prune_stats pruned = { 0 };
  int64_t now, history;
  int c, r;

  optind = 0;
  while ((c = getopt_long (argc, argv, "kh", options, NULL)) != -1)
    switch (c)
      {
      case 'd':
        db = optarg;
        break;
      case 'k':
        opts.keep_going = true;
        break;
      case 'K':
        keep = optarg;
        break;
      case 'c':
        config = optarg;
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
  if (scan_history (keep, config, &history, &err) < 0 || pg_now (&now, &err) < 0
      || store_edit_begin (db, &edit, &err) < 0)
    return cli_fail (&err);
  bar.start = monotonic_seconds ();
  r = import_run (edit.store, argv + optind, (size_t) (argc - optind), now, &opts, &res, &err);
  end_progress (&bar);
  /* Pruned in the same transaction; what was recorded (with --keep-going,
     every good report) is committed at once.  */
  if (r == 0 && history >= 0 && store_prune (edit.store, now - history, false, &pruned, &err) < 0)
    r = -1;
  if (r == 0 && store_edit_commit (&edit, &err) < 0)
    r = -1;
  if (r == 0 && pruned.vacuumed)
    pruned.bytes_after = edit.bytes_after;
  if (r < 0)
    {
      for (size_t i = 0; i < res.n_skipped; i++)
        fprintf (stderr, "patchgate: skipped %s: %s\n", res.skipped[i].source, res.skipped[i].reason);
      import_result_free (&res);
      return cli_fail (&err);
    }
  print_summary (&res, &pruned);
  r = res.n_failures ? 2 : 0;
  import_result_free (&res);
  /* Committed: now the index the hook reads.  */
  c = cli_refresh_index (db, index, now);
  return c ? c : r;
}
