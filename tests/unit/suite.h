/* Helpers for the data-driven unit suites: a folder per case, as jansson's
   test/suites do.  Header-only so each test binary stays one file.  */
#ifndef PATCHGATE_TEST_SUITE_H
#define PATCHGATE_TEST_SUITE_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "base/util.h"
#include "base/file.h"

static inline const char *
suite_src (void)
{
  const char *s = getenv ("PATCHGATE_SRC");
  return s && *s ? s : ".";
}

/* Path under the repository root; caller frees.  */
static inline char *
suite_path (const char *fmt, ...)
{
  va_list ap;
  char *rel = NULL, *out = NULL;
  va_start (ap, fmt);
  if (vasprintf (&rel, fmt, ap) < 0)
    abort ();
  va_end (ap);
  xasprintf (&out, "%s/%s", suite_src (), rel);
  free (rel);
  return out;
}

static int
suite_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The case folders of a suite, sorted.  */
static inline char **
suite_cases (const char *dir, size_t *n)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  char **v = NULL;
  *n = 0;
  if (d == NULL)
    {
      fail_msg ("cannot open suite %s", dir);
      return NULL;
    }
  while ((e = readdir (d)))
    if (e->d_name[0] != '.')
      strv_append (&v, n, e->d_name);
  closedir (d);
  qsort (v, *n, sizeof (char *), suite_cmp);
  return v;
}

static inline json_t *
suite_json (const char *dir, const char *name, bool required)
{
  cleanup_free char *path = NULL;
  json_error_t jerr;
  json_t *j;
  xasprintf (&path, "%s/%s", dir, name);
  if (access (path, F_OK) < 0 && !required)
    return NULL;
  j = json_load_file (path, 0, &jerr);
  if (j == NULL)
    fail_msg ("%s: %s", path, jerr.text);
  return j;
}

static inline char *
suite_text (const char *dir, const char *name)
{
  cleanup_free char *path = NULL;
  char *buf = NULL;
  size_t len;
  xasprintf (&path, "%s/%s", dir, name);
  if (read_all_file (path, 1 << 26, &buf, &len, NULL) < 0)
    return NULL;
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
    buf[--len] = '\0';
  return buf;
}

/* A database path in a fresh temporary directory; declare it
   cleanup_temp_db, which removes the directory and all in it.  */
static inline char *
suite_temp_db (void)
{
  char *dir = xstrdup ("/tmp/pg-test-XXXXXX");
  char *path = NULL;
  assert_non_null (mkdtemp (dir));
  xasprintf (&path, "%s/policy.db", dir);
  free (dir);
  return path;
}

static inline void
suite_temp_db_release (char **path)
{
  cleanup_free char *dir = NULL;
  char *slash;
  DIR *d;
  struct dirent *e;

  if (*path == NULL)
    return;
  dir = xstrdup (*path);
  slash = strrchr (dir, '/');
  *slash = '\0';
  d = opendir (dir);
  while (d && (e = readdir (d)))
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      unlinkat (dirfd (d), e->d_name, 0);
  if (d)
    closedir (d);
  rmdir (dir);
  free (*path);
  *path = NULL;
}
#define cleanup_temp_db __attribute__ ((cleanup (suite_temp_db_release)))

#endif
