/* patchgate: the hook's total deadline (see deadline.h).  */
#include "deadline.h"
#include "logsink.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

static struct timespec start;
static bool started;
static int64_t deadline_ms;
static volatile sig_atomic_t expiry_status = 2;
static volatile sig_atomic_t settled;
static void (*volatile on_expiry) (int settled, int status);

static int64_t
elapsed_ms (void)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return (int64_t) (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
}

static void
on_alarm (int sig)
{
  (void) sig;
  if (!settled)
    pg_log_emergency ();
  if (on_expiry)
    on_expiry (settled, expiry_status);
  _exit (expiry_status);
}

void
pg_deadline_set_status (int status)
{
  expiry_status = status;
}

void
pg_deadline_settle (int status)
{
  expiry_status = status;
  settled = 1;
}

void
pg_deadline_on_expiry (void (*fn) (int settled, int status))
{
  on_expiry = fn;
}

int64_t
pg_deadline_left_ms (void)
{
  int64_t left = deadline_ms - elapsed_ms ();
  return left > 0 ? left : 0;
}

int
pg_deadline_arm (int64_t ms)
{
  struct sigaction sa;
  struct itimerval it;
  sigset_t set;
  int64_t left;

  if (!started)
    {
      clock_gettime (CLOCK_MONOTONIC, &start);
      started = true;
      memset (&sa, 0, sizeof (sa));
      sa.sa_handler = on_alarm;
      sigemptyset (&sa.sa_mask);
      if (sigaction (SIGALRM, &sa, NULL) < 0)
        return -1;
      /* The runtime may have left SIGALRM blocked.  */
      sigemptyset (&set);
      sigaddset (&set, SIGALRM);
      if (sigprocmask (SIG_UNBLOCK, &set, NULL) < 0)
        return -1;
    }
  deadline_ms = ms;
  left = pg_deadline_left_ms ();
  if (left <= 0)
    left = 1;
  memset (&it, 0, sizeof (it));
  it.it_value.tv_sec = (time_t) (left / 1000);
  it.it_value.tv_usec = (suseconds_t) ((left % 1000) * 1000);
  return setitimer (ITIMER_REAL, &it, NULL);
}
