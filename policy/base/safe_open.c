/* patchgate: opening files below a directory the hook does not own (see
 * safe_open.h).  openat2(2) first; its absence (ENOSYS: kernel before 5.6;
 * EPERM: a seccomp profile around the runtime that does not know it) falls
 * back, once and for the rest of the process, to a walk with O_NOFOLLOW
 * on every component.
 */
#include "base/safe_open.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static bool force_fallback;
static bool no_openat2;

bool
pg_safe_open_has_openat2 (void)
{
  return !no_openat2;
}

void
pg_safe_open_force_fallback (bool force)
{
  force_fallback = force;
}

static int
resolve_flags (enum pg_resolve how)
{
  if (how == PG_RESOLVE_IN_ROOT)
    return RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  if (how == PG_RESOLVE_NO_SYMLINKS)
    return RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
}

/* One component at a time from DIRFD: no symlink (O_NOFOLLOW everywhere),
   no "..", no change of st_dev unless XDEV.  Stricter than openat2 under
   every mode.  */
static int
walk_openat (int dirfd, const char *path, int flags, bool xdev)
{
  cleanup_free char *copy = xstrdup (path);
  char *save = NULL, *comp, *next;
  struct stat root_st, st;
  int cur = -1, fd;

  if (fstat (dirfd, &root_st) < 0)
    return -1;
  comp = strtok_r (copy, "/", &save);
  while (comp && strcmp (comp, ".") == 0)
    comp = strtok_r (NULL, "/", &save);
  if (comp == NULL)
    {
      errno = EINVAL;
      return -1;
    }
  for (;;)
    {
      int at = cur >= 0 ? cur : dirfd;
      next = strtok_r (NULL, "/", &save);
      while (next && strcmp (next, ".") == 0)
        next = strtok_r (NULL, "/", &save);
      if (strcmp (comp, "..") == 0)
        {
          fd = -1;
          errno = EXDEV;
        }
      else if (next)
        fd = openat (at, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      else
        fd = openat (at, comp, flags | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0 && fstat (fd, &st) < 0)
        {
          int e = errno;
          close (fd);
          fd = -1;
          errno = e;
        }
      if (fd >= 0 && !xdev && st.st_dev != root_st.st_dev)
        {
          close (fd);
          fd = -1;
          errno = EXDEV;
        }
      if (cur >= 0)
        {
          int e = errno;
          close (cur);
          errno = e;
        }
      if (fd < 0 || next == NULL)
        return fd;
      cur = fd;
      comp = next;
    }
}

int
pg_safe_openat (int dirfd, const char *path, int flags, enum pg_resolve how)
{
  if (path == NULL || *path == '\0' || *path == '/' || (flags & O_CREAT) != 0
      || (flags & O_TMPFILE) == O_TMPFILE)
    {
      errno = EINVAL;
      return -1;
    }
  if (!force_fallback && !no_openat2)
    {
      struct open_how oh;
      long fd;

      memset (&oh, 0, sizeof (oh));
      oh.flags = (uint64_t) (flags | O_CLOEXEC);
      oh.resolve = (uint64_t) resolve_flags (how);
      do
        fd = syscall (SYS_openat2, dirfd, path, &oh, sizeof (oh));
      while (fd < 0 && (errno == EINTR || errno == EAGAIN));
      if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return (int) fd;
      no_openat2 = true;
    }
  return walk_openat (dirfd, path, flags, how == PG_RESOLVE_NO_SYMLINKS);
}

/* Open PATH below DIRFD for reading and check it is a regular file of at
   most MAX bytes: 1 with *FD and *ST, 0 when absent, <0.  */
static int
safe_open_regular (int dirfd, const char *path, enum pg_resolve how, size_t max, const char *name, int *fdp,
                   struct stat *st, pg_error_t *err)
{
  cleanup_close int fd = -1;

  /* O_NONBLOCK: a FIFO planted in place of the file must not block the
     open; it is refused below.  */
  fd = pg_safe_openat (dirfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, how);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      if (errno == ELOOP || errno == EXDEV)
        return pg_make_error (err, errno, "%s: refused (a symlink, \"..\" or a mount on the way)", name);
      return pg_make_error (err, errno, "%s", name);
    }
  if (fstat (fd, st) < 0)
    return pg_make_error (err, errno, "%s: stat", name);
  if (!S_ISREG (st->st_mode))
    return pg_make_error (err, 0, "%s: not a regular file", name);
  if ((uint64_t) st->st_size > max)
    return pg_make_error (err, 0, "%s: %lld bytes is larger than the limit of %zu bytes", name,
                          (long long) st->st_size, max);
  if (fcntl (fd, F_SETFL, O_RDONLY) < 0)
    return pg_make_error (err, errno, "%s: fcntl", name);
  *fdp = fd;
  fd = -1;
  return 1;
}

int
pg_safe_read_file (int dirfd, const char *path, enum pg_resolve how, size_t max, const char *name, char **out,
                   size_t *len, pg_error_t *err)
{
  cleanup_close int fd = -1;
  struct stat st;
  int r = safe_open_regular (dirfd, path, how, max, name, &fd, &st, err);

  if (r <= 0)
    return r;
  if (read_all_fd (fd, name, max, out, len, err) < 0)
    return -1;
  return 1;
}

int
pg_safe_map_file (int dirfd, const char *path, enum pg_resolve how, size_t max, const char *name,
                  const char **out, size_t *len, pg_error_t *err)
{
  cleanup_close int fd = -1;
  struct stat st;
  void *map;
  int r = safe_open_regular (dirfd, path, how, max, name, &fd, &st, err);

  *out = NULL;
  *len = 0;
  if (r <= 0)
    return r;
  if (st.st_size == 0)
    return 1;
  map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED)
    return pg_make_error (err, errno, "%s: mmap", name);
  *out = map;
  *len = (size_t) st.st_size;
  return 1;
}

void
pg_safe_unmap (const char *map, size_t len)
{
  if (map)
    munmap ((void *) map, len);
}
