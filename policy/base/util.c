#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int
pg_make_error (pg_error_t *err, int status, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);

  if (err == NULL)
    {
      free (msg);
      return -1;
    }
  pg_error_release (err);
  *err = xmalloc0 (sizeof (**err));
  (*err)->status = status;
  if (status != 0 && msg != NULL)
    {
      char *full = NULL;
      if (asprintf (&full, "%s: %s", msg, strerror (status)) >= 0)
        {
          free (msg);
          msg = full;
        }
    }
  (*err)->msg = msg ? msg : xstrdup ("out of memory");
  return -1;
}

int
pg_error_wrap (pg_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *prefix = NULL;
  char *full = NULL;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&prefix, fmt, ap) < 0)
    prefix = NULL;
  va_end (ap);
  if (prefix && asprintf (&full, "%s: %s", prefix, (*err)->msg) >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = full;
    }
  free (prefix);
  return -1;
}

void
pg_error_release (pg_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

void
cleanup_freep (void *p)
{
  void **pp = (void **) p;
  free (*pp);
}

void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}

void
cleanup_filep (FILE **f)
{
  if (*f)
    fclose (*f);
}

void
cleanup_jsonp (json_t **j)
{
  json_decref (*j);
}

void
cleanup_errorp (pg_error_t *err)
{
  pg_error_release (err);
}

void *
xmalloc0 (size_t size)
{
  void *p = calloc (1, size ? size : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
xrealloc (void *p, size_t size)
{
  void *r = realloc (p, size ? size : 1);
  if (r == NULL)
    abort ();
  return r;
}

char *
xstrdup (const char *s)
{
  char *r;
  if (s == NULL)
    return NULL;
  r = strdup (s);
  if (r == NULL)
    abort ();
  return r;
}

int
xasprintf (char **out, const char *fmt, ...)
{
  va_list ap;
  int r;
  va_start (ap, fmt);
  r = vasprintf (out, fmt, ap);
  va_end (ap);
  if (r < 0)
    abort ();
  return r;
}

void
strv_append (char ***v, size_t *n, const char *s)
{
  *v = xrealloc (*v, (*n + 1) * sizeof (char *));
  (*v)[(*n)++] = xstrdup (s);
}

void
strv_free (char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (v[i]);
  free (v);
}

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

static int
json_check_depth (json_t *j, int depth)
{
  const char *key;
  json_t *v;
  size_t i;

  if (depth > PG_MAX_JSON_DEPTH)
    return -1;
  if (json_is_object (j))
    json_object_foreach (j, key, v) if (json_check_depth (v, depth + 1) < 0) return -1;
  if (json_is_array (j))
    json_array_foreach (j, i, v) if (json_check_depth (v, depth + 1) < 0) return -1;
  return 0;
}

/* Jansson nests recursively up to its own compile-time limit (2048); ours is
   lower, so count brackets before parsing and never hand jansson more.  */
static bool
json_text_too_deep (const char *buf, size_t len)
{
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < len; i++)
    {
      char c = buf[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = false;
          continue;
        }
      if (c == '"')
        in_string = true;
      else if (c == '{' || c == '[')
        {
          if (++depth > PG_MAX_JSON_DEPTH)
            return true;
        }
      else if (c == '}' || c == ']')
        depth--;
    }
  return false;
}

size_t
json_text_count_values (const char *buf, size_t len)
{
  /* Every value but the first is preceded by a ',' or opens a container
     ('[' or '{' counted here, its first member after it): commas plus
     opening brackets plus one bounds the number of values from above,
     before jansson allocates anything.  */
  size_t n = 1;
  bool in_string = false;
  for (size_t i = 0; i < len; i++)
    {
      char c = buf[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = false;
          continue;
        }
      if (c == '"')
        in_string = true;
      else if (c == ',' || c == '[' || c == '{')
        n++;
    }
  return n;
}

int
json_parse_bounded (const char *buf, size_t len, const char *name, json_t **out, pg_error_t *err)
{
  return json_parse_bounded_flags (buf, len, name, 0, out, err);
}

int
json_parse_bounded_flags (const char *buf, size_t len, const char *name, size_t flags, json_t **out,
                          pg_error_t *err)
{
  json_error_t jerr;
  json_t *j;

  if (json_text_too_deep (buf, len))
    return pg_make_error (err, 0, "%s: JSON nested deeper than %d levels", name, PG_MAX_JSON_DEPTH);
  if (json_text_count_values (buf, len) > PG_MAX_JSON_VALUES)
    return pg_make_error (err, 0, "%s: JSON with more than %u values", name, PG_MAX_JSON_VALUES);
  /* JSON_ALLOW_NUL is not passed: a "\u0000" in a string is rejected.  */
  j = json_loadb (buf, len, JSON_REJECT_DUPLICATES | (flags & ~(size_t) JSON_ALLOW_NUL), &jerr);
  if (j == NULL)
    return pg_make_error (err, 0, "%s: invalid JSON at line %d column %d: %s", name, jerr.line, jerr.column,
                          jerr.text);
  if (json_check_depth (j, 0) < 0)
    {
      json_decref (j);
      return pg_make_error (err, 0, "%s: JSON nested deeper than %d levels", name, PG_MAX_JSON_DEPTH);
    }
  *out = j;
  return 0;
}

int
json_load_file_bounded (const char *path, size_t max, json_t **out, pg_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0;
  if (read_all_file (path, max, &buf, &len, err) < 0)
    return -1;
  return json_parse_bounded (buf, len, path, out, err);
}

const char *
json_get_string (json_t *obj, const char *key)
{
  json_t *v = json_is_object (obj) ? json_object_get (obj, key) : NULL;
  return json_is_string (v) ? json_string_value (v) : NULL;
}

json_t *
json_get_path (json_t *obj, const char *path)
{
  char key[256];
  const char *p = path;

  while (obj && *p)
    {
      const char *dot = strchr (p, '.');
      size_t n = dot ? (size_t) (dot - p) : strlen (p);
      if (n >= sizeof (key) || !json_is_object (obj))
        return NULL;
      memcpy (key, p, n);
      key[n] = '\0';
      obj = json_object_get (obj, key);
      p += n + (dot ? 1 : 0);
    }
  return obj;
}

static int
parse_digits (const char **p, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++)
    {
      if (!isdigit ((unsigned char) (*p)[i]))
        return -1;
      v = v * 10 + ((*p)[i] - '0');
    }
  *p += n;
  *out = v;
  return 0;
}

int
parse_rfc3339 (const char *s, int64_t *out)
{
  struct tm tm = { 0 };
  int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
  const char *p = s;
  time_t t;

  if (s == NULL)
    return -1;
  if (parse_digits (&p, 4, &year) < 0 || *p++ != '-' || parse_digits (&p, 2, &mon) < 0 || *p++ != '-'
      || parse_digits (&p, 2, &day) < 0)
    return -1;
  if (*p != 'T' && *p != 't' && *p != ' ')
    return -1;
  p++;
  if (parse_digits (&p, 2, &hour) < 0 || *p++ != ':' || parse_digits (&p, 2, &min) < 0 || *p++ != ':'
      || parse_digits (&p, 2, &sec) < 0)
    return -1;
  if (*p == '.')
    {
      p++;
      if (!isdigit ((unsigned char) *p))
        return -1;
      while (isdigit ((unsigned char) *p))
        p++;
    }
  if (*p == 'Z' || *p == 'z')
    p++;
  else if (*p == '+' || *p == '-')
    {
      sign = *p == '+' ? 1 : -1;
      p++;
      if (parse_digits (&p, 2, &oh) < 0 || *p++ != ':' || parse_digits (&p, 2, &om) < 0)
        return -1;
      if (oh > 23 || om > 59)
        return -1;
    }
  else
    return -1;
  if (*p != '\0')
    return -1;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
    return -1;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  t = timegm (&tm);
  /* timegm normalises 31 February into March: refuse such dates.  */
  if (tm.tm_mday != day || tm.tm_mon != mon - 1)
    return -1;
  *out = (int64_t) t - sign * (oh * 3600 + om * 60);
  return 0;
}

void
format_rfc3339 (int64_t t, char *buf, size_t size)
{
  time_t tt = (time_t) t;
  struct tm tm;
  if (gmtime_r (&tt, &tm) == NULL || strftime (buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf (buf, size, "@%lld", (long long) t);
}

int
parse_duration (const char *s, int64_t *out)
{
  int64_t total = 0;
  const char *p = s;

  if (s == NULL || *s == '\0')
    return -1;
  while (*p)
    {
      int64_t v = 0, unit;
      if (!isdigit ((unsigned char) *p))
        return -1;
      while (isdigit ((unsigned char) *p))
        {
          if (v > (INT64_MAX / 10) - 10)
            return -1;
          v = v * 10 + (*p++ - '0');
        }
      switch (*p++)
        {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'd':
          unit = 86400;
          break;
        case 'w':
          unit = 7 * 86400;
          break;
        default:
          return -1;
        }
      /* Bound durations at ~100 years: anything larger is a typo.  */
      if (v > (int64_t) 3650000 * 86400 / unit)
        return -1;
      total += v * unit;
      if (total > (int64_t) 36500 * 86400)
        return -1;
    }
  *out = total;
  return 0;
}

void
format_duration (int64_t secs, char *buf, size_t size)
{
  if (secs >= 2 * 86400)
    snprintf (buf, size, "%lld days", (long long) (secs / 86400));
  else if (secs >= 2 * 3600)
    snprintf (buf, size, "%lld hours", (long long) (secs / 3600));
  else if (secs >= 2 * 60)
    snprintf (buf, size, "%lld minutes", (long long) (secs / 60));
  else
    snprintf (buf, size, "%lld seconds", (long long) secs);
}

int
pg_now (int64_t *out, pg_error_t *err)
{
  const char *env = getenv ("PATCHGATE_NOW");
  if (env && *env)
    {
      if (parse_rfc3339 (env, out) < 0)
        return pg_make_error (err, 0, "PATCHGATE_NOW: `%s` is not an RFC 3339 time", env);
      return 0;
    }
  *out = (int64_t) time (NULL);
  return 0;
}
