/* patchgate: the hook's syslog client (see logsink.h).  The message format
 * is glibc's: "<PRI>Mmm dd hh:mm:ss IDENT[PID]: LINE", with a trailing NUL
 * on a stream socket.
 */
#include "logsink.h"
#include "base/util.h"
#include "base/file.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>

static int log_fd = -1;
static int connect_errno = ENOTCONN; /* why log_fd is -1 */
static int log_type = SOCK_DGRAM;
static const char *log_ident = "patchgate-hook";
static int log_facility = LOG_AUTHPRIV;

static char emergency_msg[8192];
static size_t emergency_len;
static int emergency_priority;
static char emergency_line[4096];
static size_t emergency_line_len;
static char emergency_stderr[4096];
static size_t emergency_stderr_len;

static int
log_connect (void)
{
  static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
  struct sockaddr_un sa;

  memset (&sa, 0, sizeof (sa));
  sa.sun_family = AF_UNIX;
  memcpy (sa.sun_path, PG_SYSLOG_PATH, sizeof (PG_SYSLOG_PATH));
  for (size_t i = 0; i < sizeof (types) / sizeof (types[0]); i++)
    {
      int fd = socket (AF_UNIX, types[i] | SOCK_CLOEXEC, 0), e;
      if (fd < 0)
        {
          connect_errno = errno;
          return -1;
        }
      if (connect (fd, (struct sockaddr *) &sa, sizeof (sa)) == 0)
        {
          log_fd = fd;
          log_type = types[i];
          return 0;
        }
      e = errno;
      close (fd);
      errno = connect_errno = e;
      if (e != EPROTOTYPE)
        return -1;
    }
  return -1;
}

static void reframe_emergency (void);

void
pg_log_open (const char *ident, int facility)
{
  log_ident = ident;
  log_facility = facility & LOG_FACMASK;
  /* localtime_r reads the zone file once; do it before the sandbox.  */
  tzset ();
  if (log_fd < 0)
    log_connect ();
  reframe_emergency ();
}

void
pg_log_set_facility (int facility)
{
  log_facility = facility & LOG_FACMASK;
  reframe_emergency ();
}

static char *
format_message (int priority, const char *line, size_t *len)
{
  time_t t = time (NULL);
  struct tm tm;
  char ts[32] = "";
  char *msg = NULL;
  int n;

  if (localtime_r (&t, &tm))
    strftime (ts, sizeof (ts), "%b %e %T", &tm);
  n = xasprintf (&msg, "<%d>%s %s[%d]: %s", (priority & LOG_PRIMASK) | log_facility, ts, log_ident,
                 (int) getpid (), line);
  /* A stream socket separates messages with the NUL byte.  */
  *len = (size_t) n + (log_type == SOCK_STREAM ? 1 : 0);
  return msg;
}

static bool
send_all (const char *msg, size_t len)
{
  ssize_t n;
  if (log_fd < 0)
    {
      errno = connect_errno;
      return false;
    }
  do
    n = send (log_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n >= 0 && (size_t) n != len)
    errno = EMSGSIZE;
  return n >= 0 && (size_t) n == len;
}

bool
pg_log_line (int priority, const char *line)
{
  cleanup_free char *msg = NULL;
  bool fresh = false;
  size_t len;
  int e;

  if (log_fd < 0)
    {
      log_connect ();
      fresh = true; /* connected just now, or could not: no second try */
    }
  msg = format_message (priority, line, &len);
  if (send_all (msg, len))
    return true;
  e = errno;
  /* The receiver went away (syslogd restarted): one new connection.  A
     full queue (EAGAIN) is not waited on.  */
  if (!fresh
      && (e == ECONNREFUSED || e == ENOTCONN || e == ECONNRESET || e == EPIPE || e == EDESTADDRREQ
          || e == EBADF))
    {
      if (log_fd >= 0)
        close (log_fd);
      log_fd = -1;
      if (log_connect () == 0)
        {
          free (msg);
          msg = format_message (priority, line, &len);
          if (send_all (msg, len))
            return true;
        }
      e = errno;
    }
  fprintf (stderr, "patchgate-hook: syslog unavailable (%s): %s\n", strerror (e), line);
  return false;
}

static size_t
copy_bounded (char *dst, size_t size, const char *src, size_t n)
{
  if (n >= size)
    n = size - 1;
  memcpy (dst, src, n);
  dst[n] = '\0';
  return n;
}

/* The emergency message's frame (facility, socket type) follows the log's
   own, without the line being rendered again.  */
static void
reframe_emergency (void)
{
  size_t len;
  cleanup_free char *msg = NULL;

  if (emergency_line_len == 0)
    return;
  msg = format_message (emergency_priority, emergency_line, &len);
  emergency_len = copy_bounded (emergency_msg, sizeof (emergency_msg), msg, len);
  if (log_type == SOCK_STREAM && emergency_len == len - 1)
    emergency_len = len; /* keep the NUL */
}

void
pg_log_prepare_emergency (int priority, const char *line, const char *stderr_line)
{
  emergency_priority = priority;
  emergency_line_len = copy_bounded (emergency_line, sizeof (emergency_line), line, strlen (line));
  emergency_stderr_len
      = copy_bounded (emergency_stderr, sizeof (emergency_stderr), stderr_line, strlen (stderr_line));
  reframe_emergency ();
}

/* Async-signal-safe: send and write only.  */
void
pg_log_emergency (void)
{
  static const char prefix[] = "patchgate-hook: syslog unavailable: ";
  int saved = errno;
  bool sent = false;

  if (emergency_len == 0)
    return;
  if (log_fd >= 0)
    sent
        = send (log_fd, emergency_msg, emergency_len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) emergency_len;
  if (!sent)
    {
      (void) pg_write_all_raw (STDERR_FILENO, prefix, sizeof (prefix) - 1);
      (void) pg_write_all_raw (STDERR_FILENO, emergency_line, emergency_line_len);
      (void) pg_write_all_raw (STDERR_FILENO, "\n", 1);
    }
  (void) pg_write_all_raw (STDERR_FILENO, emergency_stderr, emergency_stderr_len);
  errno = saved;
}
