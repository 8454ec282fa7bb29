/* patchgate: changing a file that readers may open at any moment
   (base/replace.h).  */
#include "base/replace.h"
#include "base/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

/* What SQLite may put beside a file it writes.  */
static const char *const sidecars[] = { "-journal", "-wal", "-shm" };

static int
writer_lock (const char *path, int *fd, pg_error_t *err)
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

/* ".<base>.new." : the prefix of every temporary file of PATH's writers.  */
static char *
tmp_prefix (const char *path)
{
  cleanup_free char *b = xstrdup (path);
  char *p = NULL;
  xasprintf (&p, ".%s.new.", basename (b));
  return p;
}

/* Under the lock no other writer is at work: whatever carries the prefix
   was left by one that was killed.  */
static void
sweep_leftovers (const char *path)
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

static void
unlink_with_sidecars (const char *path)
{
  unlink (path);
  for (size_t i = 0; i < sizeof (sidecars) / sizeof (sidecars[0]); i++)
    {
      cleanup_free char *p = NULL;
      xasprintf (&p, "%s%s", path, sidecars[i]);
      unlink (p);
    }
}

int
pg_replace_begin (const char *path, struct pg_replace *r, pg_error_t *err)
{
  cleanup_free char *d = xstrdup (path);
  cleanup_free char *prefix = tmp_prefix (path);
  char *name = NULL;

  memset (r, 0, sizeof (*r));
  r->fd = -1;
  r->lock_fd = -1;
  if (writer_lock (path, &r->lock_fd, err) < 0)
    return -1;
  r->path = xstrdup (path);
  sweep_leftovers (path);
  if (stat (path, &r->live) == 0)
    r->existed = true;
  else if (errno != ENOENT)
    {
      pg_make_error (err, errno, "%s", path);
      pg_replace_end (r);
      return -1;
    }
  xasprintf (&name, "%s/%sXXXXXX", dirname (d), prefix);
  r->fd = mkostemp (name, O_CLOEXEC);
  if (r->fd < 0)
    {
      pg_make_error (err, errno, "creating a temporary file beside %s", path);
      free (name);
      pg_replace_end (r);
      return -1;
    }
  r->tmp = name;
  return 0;
}

static int
copy_range (int in, int out, const char *name, pg_error_t *err)
{
  for (;;)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, 1 << 30, 0);
      if (n == 0)
        return 0;
      if (n > 0)
        continue;
      if (errno == EINTR)
        continue;
      /* Not on this file system (or kernel): the caller copies by hand.  */
      if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)
        return 1;
      return pg_make_error (err, errno, "%s: copy", name);
    }
}

int
pg_replace_copy_live (struct pg_replace *r, pg_error_t *err)
{
  cleanup_close int in = -1;
  int c;

  if (!r->existed)
    return 0;
  in = open (r->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (in < 0)
    return pg_make_error (err, errno, "%s: open", r->path);
  c = copy_range (in, r->fd, r->tmp, err);
  if (c < 0)
    return -1;
  if (c > 0)
    {
      /* Start again from scratch: a partial copy_file_range is possible. */
      if (lseek (in, 0, SEEK_SET) < 0 || lseek (r->fd, 0, SEEK_SET) < 0 || ftruncate (r->fd, 0) < 0)
        return pg_make_error (err, errno, "%s: copy", r->tmp);
      return pg_copy_fd (in, r->fd, r->tmp, err);
    }
  return 0;
}

/* A new file is 0600 and the writer's; a replaced one keeps the live one's
   group and mode without group or world write, and is root's when root
   writes it (whoever owned the live one).  */
static int
set_owner_mode (struct pg_replace *r, pg_error_t *err)
{
  mode_t mode = 0600;

  if (r->existed)
    {
      mode = r->live.st_mode & 0644;
      if (geteuid () == 0 && fchown (r->fd, 0, r->live.st_gid) < 0)
        return pg_make_error (err, errno, "%s: chown", r->tmp);
    }
  if (fchmod (r->fd, mode) < 0)
    return pg_make_error (err, errno, "%s: chmod", r->tmp);
  return 0;
}

int
pg_replace_commit (struct pg_replace *r, pg_error_t *err)
{
  if (r->tmp == NULL)
    return pg_make_error (err, 0, "%s: nothing to commit", r->path);
  if (set_owner_mode (r, err) < 0)
    return -1;
  if (fsync (r->fd) < 0)
    return pg_make_error (err, errno, "%s: fsync", r->tmp);
  if (rename (r->tmp, r->path) < 0)
    return pg_make_error (err, errno, "rename %s to %s", r->tmp, r->path);
  free (r->tmp);
  r->tmp = NULL;
  return pg_fsync_parent (r->path, err);
}

void
pg_replace_end (struct pg_replace *r)
{
  if (r->tmp)
    unlink_with_sidecars (r->tmp);
  if (r->fd >= 0)
    close (r->fd);
  if (r->lock_fd >= 0)
    close (r->lock_fd);
  free (r->tmp);
  free (r->path);
  memset (r, 0, sizeof (*r));
  r->fd = -1;
  r->lock_fd = -1;
}
