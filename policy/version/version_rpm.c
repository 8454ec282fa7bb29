/* patchgate: RPM version ordering, as rpm orders EVRs.

   An EVR is [epoch:]version[-release]: the epoch is a run of digits ended by
   ':', the release is whatever follows the last '-' (rpm's parseEVR).  The
   epoch (missing = 0), the version and the release are each compared with
   rpmvercmp: the strings are cut into runs of digits and runs of letters,
   every other character only separates; '~' sorts before everything, even
   the end of the string, and '^' sorts after the end of the string but before
   any further segment; a numeric segment is newer than an alphabetic one;
   numbers compare without leading zeros, by length first, so any length
   works.

   A missing release is older than any release, as rpm 4.18's rpm.ver and
   rpm.labelCompare have it ("1.0" < "1.0-1"): an admin's "1.0-5" minimum is
   then not met by a bare "1.0", which is the safe way round.

   Validation: rpm compares any string, but rpmbuild only lets letters,
   digits and "._+~^" into a version or a release.  patchgate accepts those,
   '-' (split at the last one, as rpm does) and ':' only after an all-digit
   epoch, and refuses the rest (empty parts, spaces, control and non-ASCII
   bytes, stray ':') rather than order a string no package can carry.  */

#include "base/util.h"

#include <stdbool.h>
#include <string.h>

int version_rpm_check (const char *v, char *why, size_t why_size);
int version_rpm_order (const char *a, const char *b);

struct slice
{
  const char *p;
  size_t len;
};

struct rpm_evr
{
  struct slice epoch; /* "0" when absent */
  struct slice version;
  struct slice release;
  bool has_release;
};

static bool
is_digit (int c)
{
  return c >= '0' && c <= '9';
}

static bool
is_alpha (int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alnum (int c)
{
  return is_digit (c) || is_alpha (c);
}

static int
fail (char *why, size_t why_size, const char *msg)
{
  if (why && why_size)
    snprintf (why, why_size, "%s", msg);
  return -1;
}

static void
split (const char *v, struct rpm_evr *out, bool *has_epoch)
{
  const char *p = v, *hyphen, *end;

  while (is_digit (*p))
    p++;
  *has_epoch = *p == ':';
  if (*has_epoch)
    {
      out->epoch = (struct slice){ v, (size_t) (p - v) };
      p++;
    }
  else
    {
      out->epoch = (struct slice){ "0", 1 };
      p = v;
    }
  end = p + strlen (p);
  hyphen = memrchr (p, '-', (size_t) (end - p));
  out->version = (struct slice){ p, (size_t) ((hyphen ? hyphen : end) - p) };
  out->has_release = hyphen != NULL;
  out->release = hyphen ? (struct slice){ hyphen + 1, (size_t) (end - hyphen - 1) } : (struct slice){ "", 0 };
}

int
version_rpm_check (const char *v, char *why, size_t why_size)
{
  struct rpm_evr evr;
  bool has_epoch;
  const char *p;

  if (*v == '\0')
    return fail (why, why_size, "version string is empty");
  split (v, &evr, &has_epoch);
  if (has_epoch && evr.epoch.len == 0)
    return fail (why, why_size, "epoch is empty");

  for (p = evr.version.p; *p; p++)
    {
      unsigned char c = (unsigned char) *p;
      if (is_alnum (c) || strchr ("._+~^-", c) != NULL)
        continue;
      if (why && why_size)
        {
          if (c == ':')
            snprintf (why, why_size, "invalid character ':' (only an all-digit epoch may precede ':')");
          else if (c > 0x20 && c < 0x7f)
            snprintf (why, why_size, "invalid character '%c'", c);
          else
            snprintf (why, why_size, "invalid byte 0x%02x", c);
        }
      return -1;
    }
  if (evr.version.len == 0)
    return fail (why, why_size, "version is empty");
  if (evr.has_release && evr.release.len == 0)
    return fail (why, why_size, "release is empty");
  return 0;
}

static int
at (struct slice s, size_t i)
{
  return i < s.len ? (unsigned char) s.p[i] : '\0';
}

/* rpmvercmp, on bounded strings.  */
static int
rpmvercmp (struct slice a, struct slice b)
{
  size_t i = 0, j = 0;

  if (a.len == b.len && memcmp (a.p, b.p, a.len) == 0)
    return 0;

  while (i < a.len || j < b.len)
    {
      size_t si, sj, na, nb;
      int ca, cb, r;
      bool numeric;

      while (i < a.len && !is_alnum (a.p[i]) && a.p[i] != '~' && a.p[i] != '^')
        i++;
      while (j < b.len && !is_alnum (b.p[j]) && b.p[j] != '~' && b.p[j] != '^')
        j++;
      ca = at (a, i);
      cb = at (b, j);

      /* '~' sorts before everything else, the end included.  */
      if (ca == '~' || cb == '~')
        {
          if (ca != '~')
            return 1;
          if (cb != '~')
            return -1;
          i++;
          j++;
          continue;
        }

      /* '^' is like '~' except that the end of the string sorts before it:
         "1.0^git1" is newer than "1.0" but older than "1.0.1".  */
      if (ca == '^' || cb == '^')
        {
          if (ca == '\0')
            return -1;
          if (cb == '\0')
            return 1;
          if (ca != '^')
            return 1;
          if (cb != '^')
            return -1;
          i++;
          j++;
          continue;
        }

      if (ca == '\0' || cb == '\0')
        break;

      /* One segment of A's kind from each side; B's may be empty.  */
      si = i;
      sj = j;
      numeric = is_digit (ca);
      if (numeric)
        {
          while (i < a.len && is_digit (a.p[i]))
            i++;
          while (j < b.len && is_digit (b.p[j]))
            j++;
        }
      else
        {
          while (i < a.len && is_alpha (a.p[i]))
            i++;
          while (j < b.len && is_alpha (b.p[j]))
            j++;
        }

      /* A numeric segment is newer than an alphabetic one.  */
      if (j == sj)
        return numeric ? 1 : -1;

      if (numeric)
        {
          while (si < i && a.p[si] == '0')
            si++;
          while (sj < j && b.p[sj] == '0')
            sj++;
          if (i - si != j - sj)
            return i - si > j - sj ? 1 : -1;
        }

      na = i - si;
      nb = j - sj;
      r = memcmp (a.p + si, b.p + sj, na < nb ? na : nb);
      if (r)
        return r < 0 ? -1 : 1;
      if (na != nb)
        return na < nb ? -1 : 1;
    }

  /* Equal segments; whichever has characters left over is newer (trailing
     separators were skipped above, so "1.0" equals "1.0.").  */
  if (i >= a.len && j >= b.len)
    return 0;
  return i >= a.len ? -1 : 1;
}

/* Both versions must have passed version_rpm_check (anything is ordered,
   though, as rpm orders anything).  */
int
version_rpm_order (const char *a, const char *b)
{
  struct rpm_evr ea, eb;
  bool ha, hb;
  int r;

  split (a, &ea, &ha);
  split (b, &eb, &hb);
  r = rpmvercmp (ea.epoch, eb.epoch);
  if (r)
    return r;
  r = rpmvercmp (ea.version, eb.version);
  if (r)
    return r;
  if (ea.has_release != eb.has_release)
    return ea.has_release ? 1 : -1;
  return rpmvercmp (ea.release, eb.release);
}
