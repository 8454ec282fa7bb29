/* expiring_timer: what `patchgate report expiring` costs on a large index
 * (gen_db's database, `patchgate index build`), without the output.
 *
 *   expiring_timer INDEX NOW WITHIN [NAMESPACE]
 *
 * Prints key=value lines: images examined, refused now, expiring, reasons,
 * index_decide calls (per image examined and per expiring image), and the
 * CPU and wall seconds of expiring_find alone.  CPU time is the figure to
 * read on a shared machine.
 */
#include "expiring/expiring.h"
#include "base/clock.h"

#include <stdio.h>
#include <time.h>

static double
seconds (clockid_t c)
{
  struct timespec ts;
  clock_gettime (c, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main (int argc, char **argv)
{
  pg_index *idx = NULL;
  pg_error_t err = NULL;
  struct pg_expiring rep;
  struct pg_context ctx = { 0 };
  int64_t now, within;
  size_t reasons = 0;
  double cpu, wall;

  if (argc < 4 || parse_rfc3339 (argv[2], &now) < 0 || parse_duration (argv[3], &within) < 0)
    {
      fprintf (stderr, "usage: expiring_timer INDEX NOW WITHIN [NAMESPACE]\n");
      return 2;
    }
  ctx.container_id = "bench";
  ctx.engine = "runc";
  ctx.namespace = argc > 4 ? argv[4] : NULL;
  ctx.policy_stale = PG_VERDICT_DENY;
  if (index_open (argv[1], NULL, &idx, &err) < 0)
    {
      fprintf (stderr, "%s\n", err->msg);
      return 2;
    }
  cpu = seconds (CLOCK_PROCESS_CPUTIME_ID);
  wall = seconds (CLOCK_MONOTONIC);
  if (expiring_find (idx, &ctx, now, within, &rep, &err) < 0)
    {
      fprintf (stderr, "%s\n", err->msg);
      return 2;
    }
  cpu = seconds (CLOCK_PROCESS_CPUTIME_ID) - cpu;
  wall = seconds (CLOCK_MONOTONIC) - wall;
  for (size_t i = 0; i < rep.n_images; i++)
    reasons += rep.images[i].n_reasons;
  printf ("images=%zu\nrefused_now=%zu\nexpiring=%zu\nreasons=%zu\ndecisions=%llu\n", rep.examined,
          rep.refused_now, rep.n_images, reasons, (unsigned long long) rep.decisions);
  printf ("decisions_per_image=%.2f\n", rep.examined ? (double) rep.decisions / (double) rep.examined : 0.0);
  printf ("decisions_per_reason=%.2f\n",
          reasons ? (double) (rep.decisions - 2 * rep.examined) / (double) reasons : 0.0);
  printf ("cpu_seconds=%.2f\nwall_seconds=%.2f\nus_per_decision=%.2f\n", cpu, wall,
          rep.decisions ? cpu * 1e6 / (double) rep.decisions : 0.0);
  expiring_free (&rep);
  index_close (idx);
  return 0;
}
