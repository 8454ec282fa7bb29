/* patchgate: doctor's findings, one line per check, in the order made.  */
#ifndef PATCHGATE_DOCTOR_FINDINGS_H
#define PATCHGATE_DOCTOR_FINDINGS_H

#include "base/util.h"

enum pg_doctor_status
{
  PG_DOCTOR_OK,
  PG_DOCTOR_INFO, /* what was found, nothing to fix */
  PG_DOCTOR_WARN, /* works, but worth a look */
  PG_DOCTOR_FAIL, /* not enforced, or misconfigured */
  PG_DOCTOR_SKIP, /* the engine is not on this host */
};

struct pg_doctor_check
{
  char *engine; /* podman, crio, containerd, docker, runc, or patchgate for the config and database */
  char *check;  /* a short name: hooks_dir, hooks.d, hook binary, wired, canary, ... */
  enum pg_doctor_status status;
  char *path; /* the file it is about, or NULL */
  char *detail;
};

struct pg_doctor_report
{
  struct pg_doctor_check *checks;
  size_t n_checks;
};

/* Append one line.  */
void pg_doctor_add (struct pg_doctor_report *r, const char *engine, const char *check,
                    enum pg_doctor_status status, const char *path, const char *fmt, ...)
    __attribute__ ((format (printf, 6, 7)));
/* No check failed.  */
bool pg_doctor_passed (const struct pg_doctor_report *r);
const char *pg_doctor_status_name (enum pg_doctor_status s);
void pg_doctor_report_free (struct pg_doctor_report *r);
#define cleanup_doctor_report __attribute__ ((cleanup (pg_doctor_report_free)))

#endif
