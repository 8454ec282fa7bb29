/* patchgate: logfmt, the format of the decision log.  */
#ifndef PATCHGATE_LOGFMT_H
#define PATCHGATE_LOGFMT_H

#include "base/util.h"

/* Append key=value to a logfmt line, quoting and escaping values so that
   nothing a tenant controls can forge a field or a line.  */
void logfmt_append (char **line, const char *key, const char *value);
/* The same with the escaped value cut at MAX bytes, and marked "[cut]"
   when it was.  */
void logfmt_append_max (char **line, const char *key, const char *value, size_t max);
/* VALUE escaped as a logfmt value is (without quotes), cut at MAX bytes
   and marked: for text shown to people (stderr).  */
char *logfmt_escape (const char *value, size_t max);

#endif
