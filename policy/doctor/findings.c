#include "doctor/findings.h"

#include <stdarg.h>
#include <string.h>

void
pg_doctor_add (struct pg_doctor_report *r, const char *engine, const char *check,
               enum pg_doctor_status status, const char *path, const char *fmt, ...)
{
  struct pg_doctor_check *c;
  va_list ap;

  r->checks = xrealloc (r->checks, (r->n_checks + 1) * sizeof (*r->checks));
  c = &r->checks[r->n_checks++];
  memset (c, 0, sizeof (*c));
  c->engine = xstrdup (engine);
  c->check = xstrdup (check);
  c->status = status;
  c->path = path ? xstrdup (path) : NULL;
  va_start (ap, fmt);
  if (vasprintf (&c->detail, fmt, ap) < 0)
    c->detail = xstrdup ("out of memory");
  va_end (ap);
}

bool
pg_doctor_passed (const struct pg_doctor_report *r)
{
  for (size_t i = 0; i < r->n_checks; i++)
    if (r->checks[i].status == PG_DOCTOR_FAIL)
      return false;
  return true;
}

const char *
pg_doctor_status_name (enum pg_doctor_status s)
{
  switch (s)
    {
    case PG_DOCTOR_OK:
      return "ok";
    case PG_DOCTOR_INFO:
      return "info";
    case PG_DOCTOR_WARN:
      return "warn";
    case PG_DOCTOR_FAIL:
      return "FAIL";
    default:
      return "skip";
    }
}

void
pg_doctor_report_free (struct pg_doctor_report *r)
{
  for (size_t i = 0; i < r->n_checks; i++)
    {
      free (r->checks[i].engine);
      free (r->checks[i].check);
      free (r->checks[i].path);
      free (r->checks[i].detail);
    }
  free (r->checks);
  memset (r, 0, sizeof (*r));
}
