/* hook_timer: run commands many times, interleaved, and report wall time,
 * CPU time and peak memory of each.
 *
 *   hook_timer [-n RUNS] [-w WARMUP] [-e EVICT_FILE]... [-v]
 *              --cmd NAME EXIT STDIN PROG [ARG...] [--cmd NAME EXIT STDIN PROG [ARG...]]...
 *
 * Each round runs every command once, in an order shuffled afresh each
 * round (seeded: the same every invocation), so that whatever else the
 * machine does (colleagues' builds) falls on all of them alike, and so does
 * whatever a command leaves behind for the next: compare commands of one
 * invocation, not of two.  (A rotation keeps the cyclic order, so each
 * command always followed the same one: under runc that alone put 1 ms
 * between two commands, BENCHMARKS.md.)  Every
 * run gets the file STDIN on stdin and /dev/null as stdout and stderr (-v:
 * stderr is kept); its exit status must be EXIT.  -e drops
 * the file from the page cache before every run (posix_fadvise DONTNEED), for
 * cold-cache numbers.
 *
 * Output, one line per command:
 *   NAME runs=N median_us=.. p99_us=.. mean_us=.. min_us=.. cpu_median_us=.. maxrss_kb=.. rss_median_kb=..
 * Wall time is from just before posix_spawn to the return of wait4; CPU time
 * and max RSS come from wait4's rusage.  Max RSS of a spawned child is at
 * least this program's own at the exec (about 1.5 MiB), see floor's line.
 * Then one line per pair of commands A (earlier on the command line) and B:
 *   pair A B runs=N wall_diff_median_us=.. wall_diff_lo_us=.. wall_diff_hi_us=.. cpu_diff_median_us=..
 * the median of B's time minus A's, round by round (the two ran within
 * one round, so what drifts between rounds cancels), and a 95% interval
 * for that median from the order statistics (no assumption on the
 * distribution): a difference smaller than the spread between two medians
 * measured apart can still be resolved.
 */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct cmd
{
  const char *name;
  int expect;
  const char *input;
  char **argv;
  double *wall, *cpu;
  long *rss;
};

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static int
cmp_long (const void *a, const void *b)
{
  long x = *(const long *) a, y = *(const long *) b;
  return x < y ? -1 : x > y;
}

static double
now_us (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec * 1e6 + (double) t.tv_nsec / 1e3;
}

static void
evict (char **files, int n)
{
  for (int i = 0; i < n; i++)
    {
      int fd = open (files[i], O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        {
          fprintf (stderr, "hook_timer: %s: %s\n", files[i], strerror (errno));
          exit (2);
        }
      posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
      close (fd);
    }
}

/* One run: returns the exit status (or 128+signal), fills wall/cpu/rss.  */
static int
run_once (const struct cmd *c, int keep_stderr, double *wall, double *cpu, long *rss)
{
  const char *input = c->input;
  posix_spawn_file_actions_t fa;
  struct rusage ru;
  pid_t pid;
  int status, r;
  double t0;

  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, input, O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  if (!keep_stderr)
    posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", O_WRONLY, 0);
  t0 = now_us ();
  r = posix_spawn (&pid, c->argv[0], &fa, NULL, c->argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  if (r != 0)
    {
      fprintf (stderr, "hook_timer: %s: %s\n", c->argv[0], strerror (r));
      exit (2);
    }
  while (wait4 (pid, &status, 0, &ru) < 0)
    if (errno != EINTR)
      {
        perror ("hook_timer: wait4");
        exit (2);
      }
  *wall = now_us () - t0;
  *cpu = (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6
         + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  *rss = ru.ru_maxrss;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static void
usage (void)
{
  fprintf (stderr, "usage: hook_timer [-n RUNS] [-w WARMUP] [-e EVICT_FILE]... [-v]\n"
                   "                  --cmd NAME EXIT STDIN PROG [ARG...] [--cmd ...]...\n");
  exit (2);
}

/* The lines of every pair (see the top), computed before the samples are
   sorted, while each index is still a round.  */
static char *
pair_lines (const struct cmd *cmds, int n_cmds, int runs)
{
  double *wd = calloc ((size_t) runs, sizeof (double));
  double *cd = calloc ((size_t) runs, sizeof (double));
  /* Ranks of a 95% interval for the median: n/2 -+ 1.96 sqrt(n) / 2.  */
  double half = 0.98 * sqrt ((double) runs);
  int lo = (int) floor (runs / 2.0 - half), hi = (int) ceil (runs / 2.0 + half);
  char *out = NULL;
  size_t size = 0;
  FILE *f = open_memstream (&out, &size);

  if (wd == NULL || cd == NULL || f == NULL)
    {
      perror ("hook_timer");
      exit (1);
    }
  lo = lo < 0 ? 0 : lo;
  hi = hi > runs - 1 ? runs - 1 : hi;
  for (int a = 0; a < n_cmds; a++)
    for (int b = a + 1; b < n_cmds; b++)
      {
        for (int r = 0; r < runs; r++)
          {
            wd[r] = cmds[b].wall[r] - cmds[a].wall[r];
            cd[r] = cmds[b].cpu[r] - cmds[a].cpu[r];
          }
        qsort (wd, (size_t) runs, sizeof (double), cmp_double);
        qsort (cd, (size_t) runs, sizeof (double), cmp_double);
        fprintf (f,
                 "pair %s %s runs=%d wall_diff_median_us=%.1f wall_diff_lo_us=%.1f wall_diff_hi_us=%.1f "
                 "cpu_diff_median_us=%.0f\n",
                 cmds[a].name, cmds[b].name, runs, wd[runs / 2], wd[lo], wd[hi], cd[runs / 2]);
      }
  fclose (f);
  free (wd);
  free (cd);
  return out;
}

int
main (int argc, char **argv)
{
  int runs = 200, warmup = 10, keep_stderr = 0, n_cmds = 0, n_evict = 0;
  struct cmd *cmds = calloc ((size_t) argc, sizeof (*cmds));
  char **evicts = calloc ((size_t) argc, sizeof (*evicts));
  int i = 1;

  for (; i < argc && strcmp (argv[i], "--cmd") != 0; i++)
    {
      if (strcmp (argv[i], "-n") == 0 && i + 1 < argc)
        runs = atoi (argv[++i]);
      else if (strcmp (argv[i], "-w") == 0 && i + 1 < argc)
        warmup = atoi (argv[++i]);
      else if (strcmp (argv[i], "-e") == 0 && i + 1 < argc)
        evicts[n_evict++] = argv[++i];
      else if (strcmp (argv[i], "-v") == 0)
        keep_stderr = 1;
      else
        usage ();
    }
  while (i < argc)
    {
      struct cmd *c = &cmds[n_cmds++];
      int start;
      if (i + 4 >= argc)
        usage ();
      c->name = argv[i + 1];
      c->expect = atoi (argv[i + 2]);
      c->input = argv[i + 3];
      start = i + 4;
      for (i = start; i < argc && strcmp (argv[i], "--cmd") != 0; i++)
        ;
      if (i == start)
        usage ();
      c->argv = calloc ((size_t) (i - start + 1), sizeof (char *));
      memcpy (c->argv, argv + start, (size_t) (i - start) * sizeof (char *));
    }
  if (n_cmds == 0 || runs < 1 || warmup < 0)
    usage ();
  for (int k = 0; k < n_cmds; k++)
    {
      cmds[k].wall = calloc ((size_t) runs, sizeof (double));
      cmds[k].cpu = calloc ((size_t) runs, sizeof (double));
      cmds[k].rss = calloc ((size_t) runs, sizeof (long));
    }

  int *order = calloc ((size_t) argc, sizeof (*order));
  unsigned seed = 1;
  for (int k = 0; k < n_cmds; k++)
    order[k] = k;
  for (int round = 0; round < warmup + runs; round++)
    for (int j = 0; j < n_cmds; j++)
      {
        struct cmd *c;
        if (j == 0)
          for (int k = n_cmds - 1; k > 0; k--)
            {
              int m = rand_r (&seed) % (k + 1), t = order[k];
              order[k] = order[m];
              order[m] = t;
            }
        c = &cmds[order[j]];
        double w, cpu;
        long rss;
        int st;
        if (n_evict)
          evict (evicts, n_evict);
        st = run_once (c, keep_stderr, &w, &cpu, &rss);
        if (st != c->expect)
          {
            fprintf (stderr, "hook_timer: %s exited %d, expected %d; once more with its stderr:\n", c->name,
                     st, c->expect);
            run_once (c, 1, &w, &cpu, &rss);
            return 1;
          }
        if (round >= warmup)
          {
            c->wall[round - warmup] = w;
            c->cpu[round - warmup] = cpu;
            c->rss[round - warmup] = rss;
          }
      }

  char *pairs = pair_lines (cmds, n_cmds, runs);
  for (int k = 0; k < n_cmds; k++)
    {
      struct cmd *c = &cmds[k];
      double sum = 0;
      long maxrss;
      size_t p99 = (size_t) ((runs * 99 + 99) / 100) - 1;
      for (int r = 0; r < runs; r++)
        sum += c->wall[r];
      qsort (c->wall, (size_t) runs, sizeof (double), cmp_double);
      qsort (c->cpu, (size_t) runs, sizeof (double), cmp_double);
      qsort (c->rss, (size_t) runs, sizeof (long), cmp_long);
      maxrss = c->rss[runs - 1];
      printf (
          "%s runs=%d median_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f cpu_median_us=%.0f maxrss_kb=%ld "
          "rss_median_kb=%ld\n",
          c->name, runs, c->wall[runs / 2], c->wall[p99], sum / runs, c->wall[0], c->cpu[runs / 2], maxrss,
          c->rss[runs / 2]);
    }
  fputs (pairs, stdout);
  free (pairs);
  return 0;
}
