/* patchgate: version comparison front end: scheme names, the scheme each
   distro family uses, and validation before ordering.

   Each scheme lives in its own file (version_dpkg.c, version_rpm.c,
   version_apk.c) and exports two functions: a check that says why a version
   is malformed, and an order that assumes two valid versions.  Keeping the
   check apart lets this file build every error message the same way.
   dpkg exports one compare instead, which does both with one parse of each
   version (the floors of Debian and Ubuntu images are compared on every
   start) and says which side is malformed and why, for the same messages.  */

#include "version/version.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

struct scheme_ops
{
  const char *name;
  /* Either check and order, or compare: both in one, each version parsed
     once.  */
  int (*check) (const char *v, char *why, size_t why_size);
  int (*order) (const char *a, const char *b);
  int (*compare) (const char *a, const char *b, int *order, char *why, size_t why_size);
};

static const struct scheme_ops schemes[] = {
  [PG_VERSION_DPKG] = { "dpkg", NULL, NULL, version_dpkg_compare },
  [PG_VERSION_RPM] = { "rpm", version_rpm_check, version_rpm_order, NULL },
  [PG_VERSION_APK] = { "apk", version_apk_check, version_apk_order, NULL },
};

#define N_SCHEMES (sizeof (schemes) / sizeof (schemes[0]))

/* Distro families as scanners name them (Trivy's and Grype's OS families,
   /etc/os-release IDs).  */
static const struct
{
  const char *family;
  enum pg_version_scheme scheme;
} distro_schemes[] = {
  { "debian", PG_VERSION_DPKG },
  { "ubuntu", PG_VERSION_DPKG },
  { "alpine", PG_VERSION_APK },
  { "wolfi", PG_VERSION_APK },
  { "chainguard", PG_VERSION_APK },
  { "rhel", PG_VERSION_RPM },
  { "redhat", PG_VERSION_RPM },
  { "centos", PG_VERSION_RPM },
  { "rocky", PG_VERSION_RPM },
  { "alma", PG_VERSION_RPM },
  { "almalinux", PG_VERSION_RPM },
  { "fedora", PG_VERSION_RPM },
  { "amazon", PG_VERSION_RPM },
  { "oracle", PG_VERSION_RPM },
  { "ol", PG_VERSION_RPM },
  { "photon", PG_VERSION_RPM },
  { "suse", PG_VERSION_RPM },
  { "sles", PG_VERSION_RPM },
  { "opensuse", PG_VERSION_RPM },
  { "opensuse-leap", PG_VERSION_RPM },
  { "opensuse.leap", PG_VERSION_RPM },
  { "opensuse.tumbleweed", PG_VERSION_RPM },
  { "sle_micro", PG_VERSION_RPM },
  { "azurelinux", PG_VERSION_RPM },
  { "cbl-mariner", PG_VERSION_RPM },
};

/* A version goes into error messages, hence into syslog and terminals:
   escape anything unprintable and cut very long ones.  */
static void
quote (const char *s, char *buf, size_t size)
{
  const size_t max_shown = 80;
  size_t used = 0, shown = 0;

  for (; *s && shown < max_shown && used + 5 < size; s++, shown++)
    {
      unsigned char c = (unsigned char) *s;
      if (c >= 0x20 && c < 0x7f && c != '\\')
        buf[used++] = (char) c;
      else
        used += (size_t) snprintf (buf + used, size - used, "\\x%02x", c);
    }
  if (*s && used + 4 < size)
    {
      memcpy (buf + used, "...", 3);
      used += 3;
    }
  buf[used] = '\0';
}

static const struct scheme_ops *
lookup (enum pg_version_scheme scheme)
{
  if ((unsigned) scheme >= N_SCHEMES || schemes[scheme].name == NULL)
    return NULL;
  return &schemes[scheme];
}

static int
invalid (const struct scheme_ops *ops, const char *v, const char *why, pg_error_t *err)
{
  char shown[512];

  quote (v, shown, sizeof (shown));
  return pg_make_error (err, 0, "invalid %s version '%s': %s", ops->name, shown, why);
}

static int
check_one (const struct scheme_ops *ops, const char *v, pg_error_t *err)
{
  char why[256];

  why[0] = '\0';
  if (ops->check (v, why, sizeof (why)) == 0)
    return 0;
  return invalid (ops, v, why, err);
}

int
version_compare (enum pg_version_scheme scheme, const char *a, const char *b, int *result, pg_error_t *err)
{
  const struct scheme_ops *ops = lookup (scheme);
  int r;

  if (ops == NULL)
    return pg_make_error (err, 0, "unknown version scheme %d", (int) scheme);
  if (a == NULL || b == NULL)
    return pg_make_error (err, 0, "invalid %s version: missing", ops->name);
  if (ops->compare)
    {
      char why[256];

      why[0] = '\0';
      r = ops->compare (a, b, result, why, sizeof (why));
      if (r < 0)
        return invalid (ops, r == -1 ? a : b, why, err);
    }
  else
    {
      if (check_one (ops, a, err) < 0 || check_one (ops, b, err) < 0)
        return -1;
      *result = ops->order (a, b);
    }
  *result = (*result > 0) - (*result < 0);
  return 0;
}

int
version_scheme_parse (const char *name, enum pg_version_scheme *out, pg_error_t *err)
{
  size_t i;
  char shown[512];

  if (name)
    for (i = 0; i < N_SCHEMES; i++)
      if (schemes[i].name && strcmp (schemes[i].name, name) == 0)
        {
          *out = (enum pg_version_scheme) i;
          return 0;
        }
  quote (name ? name : "", shown, sizeof (shown));
  return pg_make_error (err, 0, "unknown version scheme '%s' (expected dpkg, rpm or apk)", shown);
}

const char *
version_scheme_name (enum pg_version_scheme scheme)
{
  const struct scheme_ops *ops = lookup (scheme);

  return ops ? ops->name : "unknown";
}

int
version_scheme_for_distro (const char *family, enum pg_version_scheme *out, pg_error_t *err)
{
  size_t i;
  char shown[512];

  if (family)
    for (i = 0; i < sizeof (distro_schemes) / sizeof (distro_schemes[0]); i++)
      if (strcasecmp (distro_schemes[i].family, family) == 0)
        {
          *out = distro_schemes[i].scheme;
          return 0;
        }
  quote (family ? family : "", shown, sizeof (shown));
  return pg_make_error (err, 0, "unknown distro family '%s': no known package version scheme", shown);
}
