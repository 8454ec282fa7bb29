/* patchgate: package version ordering, exactly as dpkg, rpm and apk-tools
   order versions.  A wrong order silently lets an unpatched image run, so a
   version a scheme cannot parse is an error, never a guess.  */
#ifndef PATCHGATE_VERSION_H
#define PATCHGATE_VERSION_H

#include "base/util.h"

enum pg_version_scheme
{
  PG_VERSION_DPKG,
  PG_VERSION_RPM,
  PG_VERSION_APK,
};

/* *result is <0, 0 or >0 as A is older than, equal to or newer than B.  */
int version_compare (enum pg_version_scheme scheme, const char *a, const char *b, int *result,
                     pg_error_t *err);
/* "dpkg" | "rpm" | "apk" */
int version_scheme_parse (const char *name, enum pg_version_scheme *out, pg_error_t *err);
const char *version_scheme_name (enum pg_version_scheme scheme);
/* The scheme a distro family uses: debian/ubuntu -> dpkg; alpine/wolfi/
   chainguard -> apk; rhel/centos/rocky/alma/fedora/amazon/oracle/photon/
   suse/opensuse... -> rpm.  Unknown families are an error.  */
int version_scheme_for_distro (const char *family, enum pg_version_scheme *out, pg_error_t *err);

/* Defined in version_dpkg.c, version_rpm.c and version_apk.c; internal to
   the library: callers use version_compare, which validates first.  check returns 0, or -1 with the
   reason in WHY; order returns <0, 0 or >0; compare (dpkg's, instead of
   the two) does both, each version parsed once: 0 with *ORDER, or -1 (A)
   or -2 (B) malformed, with the reason in WHY.  */
int version_dpkg_compare (const char *a, const char *b, int *order, char *why, size_t why_size);
int version_rpm_check (const char *v, char *why, size_t why_size);
int version_rpm_order (const char *a, const char *b);
int version_apk_check (const char *v, char *why, size_t why_size);
int version_apk_order (const char *a, const char *b);

#endif
