/* patchgate: files that only root can change (base/trusted_path.h).  */
#include "base/trusted_path.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* As the kernel's own limit on symlinks in one lookup.  */
#define PG_TRUST_MAX_LINKS 40

static bool
owner_trusted (uid_t uid)
{
  return uid == 0 || uid == geteuid ();
}

static bool
others_can_write (const struct stat *st)
{
  return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/* The next component of *TODO, which moves past it; *LAST says whether
   anything but slashes follows.  Returns NULL when nothing is left.  */
static char *
take_component (char **todo, bool *last)
{
  char *p = *todo, *end, *comp;

  while (*p == '/')
    p++;
  if (*p == '\0')
    return NULL;
  end = strchrnul (p, '/');
  comp = strndup (p, (size_t) (end - p));
  if (comp == NULL)
    abort ();
  while (*end == '/')
    end++;
  *last = *end == '\0';
  memmove (*todo, end, strlen (end) + 1);
  return comp;
}

static char *
join (const char *dir, const char *name)
{
  char *out = NULL;
  xasprintf (&out, "%s%s%s", dir, strcmp (dir, "/") == 0 ? "" : "/", name);
  return out;
}

/* CUR, a resolved directory without symlinks, one level up.  */
static void
go_up (char *cur)
{
  char *slash = strrchr (cur, '/');
  if (slash == cur)
    cur[1] = '\0';
  else if (slash)
    *slash = '\0';
}

/* Prepend a symlink's TARGET to what is left to resolve.  */
static void
splice_link (char **todo, const char *target)
{
  char *n = NULL;
  xasprintf (&n, "%s/%s", target, *todo);
  free (*todo);
  *todo = n;
}

struct walk
{
  const char *what;
  const char *path;
  char *cur; /* the directory reached so far, resolved */
  struct stat cur_st;
  char *todo; /* what is left of the path, relative to cur */
  int links;
};

static int
refuse (struct walk *w, const char *component, const char *why, const struct stat *st, pg_error_t *err)
{
  if (st)
    return pg_make_error (err, 0,
                          "%s %s: %s %s (mode %04o): only root may be able to change what the hook trusts",
                          w->what, w->path, component, why, (unsigned) (st->st_mode & 07777));
  return pg_make_error (err, 0, "%s %s: %s %s: only root may be able to change what the hook trusts", w->what,
                        w->path, component, why);
}

static int
follow_link (struct walk *w, const char *entry, pg_error_t *err)
{
  char target[4096];
  ssize_t n;

  if (++w->links > PG_TRUST_MAX_LINKS)
    return pg_make_error (err, ELOOP, "%s %s", w->what, w->path);
  n = readlink (entry, target, sizeof (target) - 1);
  if (n < 0)
    return pg_make_error (err, errno, "%s %s: readlink %s", w->what, w->path, entry);
  if ((size_t) n >= sizeof (target) - 1)
    return pg_make_error (err, ENAMETOOLONG, "%s %s: readlink %s", w->what, w->path, entry);
  target[n] = '\0';
  splice_link (&w->todo, target);
  if (target[0] == '/')
    {
      free (w->cur);
      w->cur = xstrdup ("/");
      if (lstat ("/", &w->cur_st) < 0)
        return pg_make_error (err, errno, "%s %s: /", w->what, w->path);
    }
  return 0;
}

/* One step: COMP in w->cur.  Returns 1 when the walk is over (the file
   passed), 0 to go on, 2 when it is missing and may be, -1 on error.  */
static int
step (struct walk *w, const char *comp, bool last, int flags, pg_error_t *err)
{
  cleanup_free char *entry = NULL;
  struct stat st;
  bool final;

  if (strcmp (comp, ".") == 0)
    return 0;
  if (strcmp (comp, "..") == 0)
    {
      go_up (w->cur);
      if (lstat (w->cur, &w->cur_st) < 0)
        return pg_make_error (err, errno, "%s %s: %s", w->what, w->path, w->cur);
      return 0;
    }
  entry = join (w->cur, comp);
  if (lstat (entry, &st) < 0)
    {
      if (errno != ENOENT || !(flags & PG_TRUST_MAY_BE_MISSING))
        return pg_make_error (err, errno, "%s %s: %s", w->what, w->path, entry);
      /* Missing: fine only when nobody else could create it.  */
      if (others_can_write (&w->cur_st))
        return refuse (w, w->cur, "is writable by group or others", &w->cur_st, err);
      return 2;
    }
  if (!owner_trusted (st.st_uid))
    {
      char why[64];
      snprintf (why, sizeof (why), "is owned by uid %u, not root", (unsigned) st.st_uid);
      return refuse (w, entry, why, NULL, err);
    }
  /* Sticky directories on the way are as safe as their entries' owners;
     the one that holds the file is not: anyone could plant a lock file or
     a temporary file of a writer's name there.  */
  final = last && !S_ISLNK (st.st_mode);
  if (others_can_write (&w->cur_st) && (final || !(w->cur_st.st_mode & S_ISVTX)))
    return refuse (w, w->cur, "is writable by group or others", &w->cur_st, err);
  if (S_ISLNK (st.st_mode))
    return follow_link (w, entry, err);
  if (S_ISDIR (st.st_mode))
    {
      if (last)
        return pg_make_error (err, 0, "%s %s: is a directory", w->what, w->path);
      free (w->cur);
      w->cur = entry;
      entry = NULL;
      w->cur_st = st;
      return 0;
    }
  if (!last)
    return pg_make_error (err, ENOTDIR, "%s %s: %s", w->what, w->path, entry);
  if (!S_ISREG (st.st_mode))
    return pg_make_error (err, 0, "%s %s: not a regular file", w->what, w->path);
  if (others_can_write (&st))
    return refuse (w, entry, "is writable by group or others", &st, err);
  return 1;
}

int
pg_check_trusted_path (const char *path, const char *what, int flags, pg_error_t *err)
{
  struct walk w = { .what = what, .path = path };
  int r = 0;

  if (path == NULL || *path == '\0')
    return pg_make_error (err, 0, "%s: empty path", what);
  if (path[0] == '/')
    w.todo = xstrdup (path);
  else
    {
      cleanup_free char *cwd = getcwd (NULL, 0);
      if (cwd == NULL)
        return pg_make_error (err, errno, "%s %s: getcwd", what, path);
      xasprintf (&w.todo, "%s/%s", cwd, path);
    }
  w.cur = xstrdup ("/");
  if (lstat ("/", &w.cur_st) < 0)
    r = pg_make_error (err, errno, "%s %s: /", what, path);
  else if (!owner_trusted (w.cur_st.st_uid))
    r = pg_make_error (err, 0, "%s %s: / is not owned by root", what, path);
  while (r == 0)
    {
      bool last = false;
      cleanup_free char *comp = take_component (&w.todo, &last);
      if (comp == NULL)
        {
          r = pg_make_error (err, 0, "%s %s: is a directory", what, path);
          break;
        }
      r = step (&w, comp, last, flags, err);
    }
  free (w.cur);
  free (w.todo);
  if (r < 0)
    return -1;
  return r == 2 ? 0 : 1;
}
