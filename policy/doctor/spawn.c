/* Running the programs doctor looks at (doctor/spawn.h).  */
#include "doctor/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define PG_RUN_MAX_OUTPUT (1u << 20)

int
pg_run_capture (char *const *argv, char *const *env, int timeout_s, char **out, int *status, pg_error_t *err)
{
  int pipefd[2];
  pid_t pid;
  size_t len = 0, cap = 4096;
  char *buf = xmalloc0 (cap);
  time_t deadline = time (NULL) + timeout_s;
  int wstatus;

  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    {
      free (buf);
      return pg_make_error (err, errno, "pipe");
    }
  pid = fork ();
  if (pid < 0)
    {
      free (buf);
      close (pipefd[0]);
      close (pipefd[1]);
      return pg_make_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      int devnull = open ("/dev/null", O_RDONLY);
      if (devnull < 0 || dup2 (devnull, 0) < 0 || dup2 (pipefd[1], 1) < 0 || dup2 (pipefd[1], 2) < 0)
        _exit (127);
      for (size_t i = 0; env && env[i]; i++)
        if (i == 0 && strcmp (env[i], "-") == 0)
          clearenv ();
        else
          putenv (env[i]);
      execvp (argv[0], argv);
      dprintf (2, "%s: %s\n", argv[0], strerror (errno));
      _exit (127);
    }
  close (pipefd[1]);
  for (;;)
    {
      struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
      int left = (int) (deadline - time (NULL));
      ssize_t n;
      if (left <= 0)
        {
          kill (pid, SIGKILL);
          break;
        }
      if (poll (&p, 1, left * 1000) <= 0)
        continue;
      if (cap - len < 1024)
        buf = xrealloc (buf, cap *= 2);
      n = read (pipefd[0], buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (len + (size_t) n <= PG_RUN_MAX_OUTPUT)
        len += (size_t) n;
    }
  close (pipefd[0]);
  buf[len] = '\0';
  while (waitpid (pid, &wstatus, 0) < 0 && errno == EINTR)
    ;
  *status = WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : 128 + WTERMSIG (wstatus);
  *out = buf;
  return 0;
}
