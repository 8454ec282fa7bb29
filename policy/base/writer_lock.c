/* patchgate: the writer lock of the policy database, and its writers'
   temporary files (base/writer_lock.h).  */
#include "base/writer_lock.h"
#include "base/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

int
pg_writer_lock (const char *path, int *fd, pg_error_t *err)
{
  cleanup_free char *lock = NULL;
  struct timespec pause = { 0, 50 * 1000 * 1000 };

  *fd = -1;
  if (pg_ensure_parent_dir (path, err) < 0)
    return -1;
  xasprintf (&lock, "%s.lock", path);
  *fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (*fd < 0)
    return pg_make_error (err, errno, "%s: open", lock);
  for (int waited = 0;; waited += 50)
    {
      if (flock (*fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
      if (errno != EWOULDBLOCK && errno != EINTR)
        break;
      if (waited >= PG_WRITER_LOCK_WAIT_MS)
        {
          errno = 0;
          break;
        }
      nanosleep (&pause, NULL);
    }
  pg_make_error (err, errno, "%s: lock%s", lock,
                 errno ? "" : ": another patchgate writer has held it for too long");
  close (*fd);
  *fd = -1;
  return -1;
}

void
pg_writer_unlock (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* ".<base>.new." : the prefix of every temporary file of PATH's writers.  */
static char *
tmp_prefix (const char *path)
{
  cleanup_free char *b = xstrdup (path);
  char *p = NULL;
  xasprintf (&p, ".%s.new.", basename (b));
  return p;
}

void
pg_writer_sweep (const char *path)
{
  cleanup_free char *d = xstrdup (path);
  cleanup_free char *prefix = tmp_prefix (path);
  const char *dir = dirname (d);
  size_t n = strlen (prefix);
  DIR *dh = opendir (dir);
  struct dirent *de;

  if (dh == NULL)
    return;
  while ((de = readdir (dh)) != NULL)
    {
      struct stat st;
      if (strncmp (de->d_name, prefix, n) != 0)
        continue;
      if (fstatat (dirfd (dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode))
        unlinkat (dirfd (dh), de->d_name, 0);
    }
  closedir (dh);
}
