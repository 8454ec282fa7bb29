/* The ownership rule, checked along the resolved path.  */
#include "doctor/owner.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

static int
component_ok (const char *path, const struct stat *st, bool is_target, char **why)
{
  if (st->st_uid != 0)
    {
      xasprintf (why, "%s is owned by uid %u, not root", path, (unsigned) st->st_uid);
      return 0;
    }
  if (!is_target && S_ISDIR (st->st_mode) && (st->st_mode & S_ISVTX) && st->st_mode & S_IWOTH)
    return 1;
  if (st->st_mode & (S_IWGRP | S_IWOTH))
    {
      xasprintf (why, "%s is %s-writable (mode %04o)", path, (st->st_mode & S_IWOTH) ? "world" : "group",
                 (unsigned) (st->st_mode & 07777));
      return 0;
    }
  return 1;
}

int
pg_root_only (const char *path, bool *missing, char **why)
{
  cleanup_free char *real = NULL;
  struct stat st;
  char *slash;

  *missing = false;
  *why = NULL;
  real = realpath (path, NULL);
  if (real == NULL)
    {
      *missing = errno == ENOENT;
      xasprintf (why, "%s: %s", path, strerror (errno));
      return -1;
    }
  if (stat (real, &st) < 0)
    {
      xasprintf (why, "%s: %s", real, strerror (errno));
      return -1;
    }
  if (!component_ok (real, &st, true, why))
    return 0;
  /* Then each directory above it, from the nearest up to /.  */
  while ((slash = strrchr (real, '/')) != NULL)
    {
      if (slash == real)
        slash[1] = '\0';
      else
        *slash = '\0';
      if (stat (real, &st) < 0)
        {
          xasprintf (why, "%s: %s", real, strerror (errno));
          return -1;
        }
      if (!component_ok (real, &st, false, why))
        return 0;
      if (strcmp (real, "/") == 0)
        break;
    }
  return 1;
}
