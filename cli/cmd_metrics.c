/* patchgate metrics: the decision counts the hook keeps (metrics/metrics.h),
   printed as the hook renders them for node_exporter, or as JSON; and, with
   --write-textfile, rendered into the textfile by hand.  */
#include "cli.h"
#include "config/hook_config.h"
#include "metrics/metrics.h"
#include "base/trusted_path.h"

#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: patchgate metrics [--config FILE] [--counters FILE] [--json] [--write-textfile]\n"
           "\n"
           "Print the decision counts that patchgate-hook keeps (the hook config's\n"
           "metrics_counters), in Prometheus's text format, exactly as the hook writes\n"
           "them to metrics_textfile for node_exporter's textfile collector.\n"
           "\n"
           "  -c, --config FILE   hook config (default $PATCHGATE_CONFIG, else " PG_DEFAULT_HOOK_CONFIG ")\n"
           "      --counters FILE the counters file (default: the hook config's metrics_counters)\n"
           "      --json          print them as JSON instead\n"
           "      --write-textfile  also render metrics_textfile from them now, atomically, as a\n"
           "                      hook does (for a host whose kernel has no Landlock, where\n"
           "                      the hook only counts)\n"
           "  -h, --help          show this help\n"
           "\n"
           "A counters file the hook would refuse (not root's, writable by others, a\n"
           "symlink, another format) is refused here too.  A missing one means nothing\n"
           "was counted yet.  Exit status: 0 printed, 2 error (metrics off, a refused\n"
           "or unreadable file).\n");
}

int
cmd_metrics (int argc, char **argv)
{
  static const struct option opts[]
      = { { "config", required_argument, NULL, 'c' }, { "counters", required_argument, NULL, 'C' },
          { "json", no_argument, NULL, 'j' },         { "write-textfile", no_argument, NULL, 'w' },
          { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 } };
  cleanup_hook_config struct pg_hook_config cfg = { 0 };
  struct pg_metrics m = { 0 };
  struct pg_metrics_textfile t = { .dirfd = -1 };
  struct pg_metrics_counters snap;
  const char *config = NULL, *counters = NULL;
  bool json = false, write_textfile = false;
  pg_error_t err = NULL;
  int c, ret = 2;

  while ((c = getopt_long (argc, argv, "c:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'c':
        config = optarg;
        break;
      case 'C':
        counters = optarg;
        break;
      case 'j':
        json = true;
        break;
      case 'w':
        write_textfile = true;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (optind < argc)
    {
      usage (stderr);
      return 2;
    }
  if (hook_config_load (hook_config_env_path (config), &cfg, &err) < 0)
    return cli_fail (&err);
  if (counters == NULL)
    counters = cfg.metrics_counters;
  if (counters == NULL)
    {
      pg_make_error (&err, 0,
                     "metrics are off: the hook config %s sets neither metrics_textfile nor metrics_counters",
                     cfg.path ? cfg.path : "(built-in defaults)");
      return cli_fail (&err);
    }
  if (write_textfile && cfg.metrics_textfile == NULL)
    {
      pg_make_error (&err, 0, "--write-textfile: the hook config %s sets no metrics_textfile",
                     cfg.path ? cfg.path : "(built-in defaults)");
      return cli_fail (&err);
    }
  /* What the hook would refuse is refused here too: someone else may have
     written those numbers.  */
  if (pg_check_trusted_path (counters, "metrics counters file", PG_TRUST_MAY_BE_MISSING, &err) < 0
      || metrics_open (counters, write_textfile ? PG_METRICS_CREATE | PG_METRICS_WRITE : 0, &m, &err) < 0)
    goto out;
  if (write_textfile)
    {
      umask (022);
      if (metrics_textfile_open (cfg.metrics_textfile, &t, &err) < 0
          || metrics_publish (&m, &t, cfg.timeout_ms + 1000, PG_METRICS_PUBLISH_FORCE, &err) < 0)
        goto out;
    }
  metrics_snapshot (m.c, &snap);
  if (json)
    {
      cleanup_json json_t *doc = metrics_render_json (&snap);
      cleanup_free char *text = NULL;
      json_object_set_new (doc, "counters", json_string (counters));
      json_object_set_new (doc, "textfile",
                           cfg.metrics_textfile ? json_string (cfg.metrics_textfile) : json_null ());
      text = json_dumps (doc, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
      printf ("%s\n", text);
    }
  else
    {
      cleanup_free char *text = metrics_render_text (&snap);
      fputs (text, stdout);
    }
  ret = fflush (stdout) == 0 ? 0 : 2;
out:
  metrics_textfile_close (&t);
  metrics_close (&m);
  return err ? cli_fail (&err) : ret;
}
