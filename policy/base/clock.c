/* patchgate: time: RFC 3339 instants, durations, the clock.  */
#include "base/clock.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

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

int64_t
pg_real_now (void)
{
  return (int64_t) time (NULL);
}

int
pg_now_env (int64_t *out, bool *from_env, pg_error_t *err)
{
  const char *env = getenv ("PATCHGATE_NOW");

  if (from_env)
    *from_env = false;
  if (env && *env)
    {
      if (parse_rfc3339 (env, out) < 0)
        return pg_make_error (err, 0, "PATCHGATE_NOW: `%s` is not an RFC 3339 time", env);
      if (from_env)
        *from_env = true;
      return 0;
    }
  *out = pg_real_now ();
  return 0;
}

int
pg_now (int64_t *out, pg_error_t *err)
{
  return pg_now_env (out, NULL, err);
}
