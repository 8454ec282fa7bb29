/* patchgate: files: bounded reads, whole writes, atomic replacement.  */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

int
read_all_fd (int fd, const char *name, size_t max, char **out, size_t *len, pg_error_t *err)
{
  size_t cap = 0, used = 0;
  cleanup_free char *buf = NULL;

  for (;;)
    {
      ssize_t n;
      if (cap - used < 4096)
        {
          size_t ncap = cap ? cap * 2 : 8192;
          if (ncap > max + 2)
            ncap = max + 2;
          if (ncap <= used + 1)
            return pg_make_error (err, 0, "%s: larger than the limit of %zu bytes", name, max);
          buf = xrealloc (buf, ncap);
          cap = ncap;
        }
      n = read (fd, buf + used, cap - used - 1);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return pg_make_error (err, errno, "%s: read", name);
        }
      if (n == 0)
        break;
      used += (size_t) n;
      if (used > max)
        return pg_make_error (err, 0, "%s: larger than the limit of %zu bytes", name, max);
    }
  buf[used] = '\0';
  *out = buf;
  buf = NULL;
  if (len)
    *len = used;
  return 0;
}

int
read_all_file (const char *path, size_t max, char **out, size_t *len, pg_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  struct stat st;

  if (fd < 0)
    return pg_make_error (err, errno, "%s: open", path);
  if (fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "%s: stat", path);
  if (S_ISDIR (st.st_mode))
    return pg_make_error (err, 0, "%s: is a directory", path);
  if (S_ISREG (st.st_mode) && (uint64_t) st.st_size > max)
    return pg_make_error (err, 0, "%s: %lld bytes is larger than the limit of %zu bytes", path,
                          (long long) st.st_size, max);
  return read_all_fd (fd, path, max, out, len, err);
}

void
pg_unlink_freep (char **p)
{
  if (*p)
    {
      unlink (*p);
      free (*p);
    }
}

int
pg_write_all_raw (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
pg_write_all (int fd, const void *buf, size_t len, const char *name, pg_error_t *err)
{
  if (pg_write_all_raw (fd, buf, len) < 0)
    return pg_make_error (err, errno, "%s: write", name);
  return 0;
}

int
pg_fsync_parent (const char *path, pg_error_t *err)
{
  cleanup_free char *copy = xstrdup (path);
  const char *dir = dirname (copy);
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return pg_make_error (err, errno, "%s: open", dir);
  if (fsync (fd) < 0)
    return pg_make_error (err, errno, "%s: fsync", dir);
  return 0;
}

int
pg_mkstemp_beside (const char *path, char **tmp, int *fd, pg_error_t *err)
{
  cleanup_free char *d = xstrdup (path);
  cleanup_free char *b = xstrdup (path);
  char *name = NULL;

  xasprintf (&name, "%s/.%s.XXXXXX", dirname (d), basename (b));
  *fd = mkostemp (name, O_CLOEXEC);
  if (*fd < 0)
    {
      pg_make_error (err, errno, "creating a temporary file beside %s", path);
      free (name);
      return -1;
    }
  *tmp = name;
  return 0;
}

/* LIKE NULL: mode 0644 and the caller's ownership.  */
static int
write_file_atomic (const char *path, const void *data, size_t len, const struct stat *like, pg_error_t *err)
{
  cleanup_unlink char *tmp = NULL;
  cleanup_close int fd = -1;

  if (pg_mkstemp_beside (path, &tmp, &fd, err) < 0)
    return -1;
  if (fchmod (fd, like ? like->st_mode & 07777 : 0644) < 0)
    return pg_make_error (err, errno, "%s: chmod", tmp);
  /* After the chmod: chown clears set-id bits, and a file the owner may
     not write stays so until the rename.  A caller that cannot give the
     file away (not root) is refused rather than leaving its own uid.  */
  if (like && fchown (fd, like->st_uid, like->st_gid) < 0)
    return pg_make_error (err, errno, "%s: chown to %u:%u", tmp, (unsigned) like->st_uid,
                          (unsigned) like->st_gid);
  if (like && (like->st_mode & 06000) && fchmod (fd, like->st_mode & 07777) < 0)
    return pg_make_error (err, errno, "%s: chmod", tmp);
  if (pg_write_all (fd, data, len, tmp, err) < 0)
    return -1;
  if (fsync (fd) < 0)
    return pg_make_error (err, errno, "%s: fsync", tmp);
  if (rename (tmp, path) < 0)
    return pg_make_error (err, errno, "rename %s to %s", tmp, path);
  free (tmp);
  tmp = NULL;
  return pg_fsync_parent (path, err);
}

int
pg_write_file_atomic (const char *path, const void *data, size_t len, pg_error_t *err)
{
  return write_file_atomic (path, data, len, NULL, err);
}

int
pg_write_file_atomic_like (const char *path, const void *data, size_t len, const struct stat *like,
                           pg_error_t *err)
{
  return write_file_atomic (path, data, len, like, err);
}

int
pg_ensure_parent_dir (const char *path, pg_error_t *err)
{
  cleanup_free char *copy = xstrdup (path);
  const char *dir = dirname (copy);
  struct stat st;

  if (stat (dir, &st) == 0)
    return S_ISDIR (st.st_mode) ? 0 : pg_make_error (err, 0, "%s: not a directory", dir);
  if (errno != ENOENT || mkdir (dir, 0700) < 0)
    return pg_make_error (err, errno, "policy database directory %s", dir);
  return 0;
}

int
pg_copy_fd (int in, int out, const char *name, pg_error_t *err)
{
  cleanup_free char *buf = xmalloc0 (1 << 16);
  for (;;)
    {
      ssize_t n = read (in, buf, 1 << 16);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return pg_make_error (err, errno, "%s: read", name);
      if (n == 0)
        return 0;
      if (pg_write_all (out, buf, (size_t) n, name, err) < 0)
        return -1;
    }
}
