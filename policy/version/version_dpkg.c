/* patchgate: Debian version ordering, as dpkg orders versions.

   A Debian version is [epoch:]upstream[-revision] (deb-version(7)).  The
   epoch is the digits before the first ':', the revision is whatever follows
   the last '-'.  Upstream and revision are compared with the same rule:
   alternately a run of non-digits, compared character by character with '~'
   sorting before everything (even the end of the string) and letters before
   other characters, then a run of digits compared as a number.

   Validation follows what dpkg itself refuses as an error (empty version,
   embedded spaces, bad epoch, empty upstream or revision) plus what dpkg
   only warns about in `dpkg --compare-versions` but refuses when it builds or
   installs a package: characters outside [A-Za-z0-9.+~:-] in the upstream
   version and outside [A-Za-z0-9.+~] in the revision.  No real package can
   carry such a version, so accepting one would mean guessing.  An upstream
   version that does not start with a digit is accepted, as dpkg accepts it
   with a warning (old packages in the archive have such versions).  Control
   characters are always refused, even in the epoch where strtol would skip
   them.  */

#include "base/util.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

int version_dpkg_compare (const char *a, const char *b, int *order, char *why, size_t why_size);

struct deb_version
{
  unsigned long epoch;
  const char *upstream;
  size_t upstream_len;
  const char *revision; /* "" when absent: dpkg treats both the same.  */
  size_t revision_len;
};

/* ASCII only, whatever the locale: dpkg uses its own c_is* helpers too.  */
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
is_blank (int c)
{
  return c == ' ' || c == '\t';
}

static int
fail (char *why, size_t why_size, const char *msg)
{
  if (why && why_size)
    snprintf (why, why_size, "%s", msg);
  return -1;
}

static int
fail_char (char *why, size_t why_size, const char *where, unsigned char c)
{
  if (why && why_size)
    {
      if (c > 0x20 && c < 0x7f)
        snprintf (why, why_size, "invalid character '%c' in %s", c, where);
      else
        snprintf (why, why_size, "invalid byte 0x%02x in %s", c, where);
    }
  return -1;
}

/* The epoch is what strtol would read before the first ':': an optional
   sign and digits.  dpkg then refuses no digits, trailing garbage, a
   negative value and anything above INT_MAX.  Long digit runs are measured,
   never converted, so they cannot overflow.  */
static int
parse_epoch (const char *s, size_t len, unsigned long *out, char *why, size_t why_size)
{
  size_t i = 0, digits, significant;
  bool negative = false;
  unsigned long value = 0;

  if (i < len && (s[i] == '+' || s[i] == '-'))
    negative = s[i++] == '-';
  digits = i;
  while (i < len && is_digit (s[i]))
    i++;
  if (i == digits)
    return fail (why, why_size, "epoch in version is empty");
  if (i != len)
    return fail (why, why_size, "epoch in version is not number");

  while (digits < len && s[digits] == '0')
    digits++;
  significant = len - digits;
  if (significant > 10)
    return fail (why, why_size, negative ? "epoch in version is negative" : "epoch in version is too big");
  for (; digits < len; digits++)
    value = value * 10 + (unsigned long) (s[digits] - '0');
  if (negative && value != 0)
    return fail (why, why_size, "epoch in version is negative");
  if (value > INT_MAX)
    return fail (why, why_size, "epoch in version is too big");
  *out = value;
  return 0;
}

/* Letters, digits and . + ~, and in the upstream version also - and :.  */
static int
check_chars (const char *s, size_t len, bool upstream, const char *where, char *why, size_t why_size)
{
  size_t i;

  for (i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) s[i];
      if (is_digit (c) || is_alpha (c) || c == '.' || c == '+' || c == '~'
          || (upstream && (c == '-' || c == ':')))
        continue;
      return fail_char (why, why_size, where, c);
    }
  return 0;
}

/* Split V as dpkg's parseversion does, and validate it.  */
static int
parse (const char *v, struct deb_version *out, char *why, size_t why_size)
{
  const char *start = v, *end, *colon, *hyphen, *p;

  while (is_blank (*start))
    start++;
  if (*start == '\0')
    return fail (why, why_size, "version string is empty");
  end = start + strlen (start);
  while (end > start && is_blank (end[-1]))
    end--;
  for (p = start; p < end; p++)
    if (is_blank (*p))
      return fail (why, why_size, "version string has embedded spaces");

  out->epoch = 0;
  colon = memchr (start, ':', (size_t) (end - start));
  if (colon)
    {
      if (parse_epoch (start, (size_t) (colon - start), &out->epoch, why, why_size) < 0)
        return -1;
      if (colon + 1 == end)
        return fail (why, why_size, "nothing after colon in version number");
      start = colon + 1;
    }

  hyphen = NULL;
  for (p = start; p < end; p++)
    if (*p == '-')
      hyphen = p;
  out->upstream = start;
  out->upstream_len = (size_t) ((hyphen ? hyphen : end) - start);
  out->revision = hyphen ? hyphen + 1 : "";
  out->revision_len = hyphen ? (size_t) (end - hyphen - 1) : 0;
  if (hyphen && out->revision_len == 0)
    return fail (why, why_size, "revision number is empty");
  if (out->upstream_len == 0)
    return fail (why, why_size, "version number is empty");

  if (check_chars (out->upstream, out->upstream_len, true, "version number", why, why_size) < 0)
    return -1;
  return check_chars (out->revision, out->revision_len, false, "revision number", why, why_size);
}

/* The weight of one non-digit character: '~' first, then the end of the
   string (and digits, which end a non-digit run), then letters, then
   everything else.  */
static int
char_order (int c)
{
  if (c == '\0' || is_digit (c))
    return 0;
  if (is_alpha (c))
    return c;
  if (c == '~')
    return -1;
  return c + 256;
}

static int
at (const char *s, size_t len, size_t i)
{
  return i < len ? (unsigned char) s[i] : '\0';
}

/* dpkg's verrevcmp on bounded strings (the upstream part is not
   NUL-terminated: it ends at the revision's hyphen).  */
static int
compare_part (const char *a, size_t alen, const char *b, size_t blen)
{
  size_t i = 0, j = 0;

  while (i < alen || j < blen)
    {
      size_t si, sj, na, nb;

      while ((i < alen && !is_digit (a[i])) || (j < blen && !is_digit (b[j])))
        {
          int ac = char_order (at (a, alen, i));
          int bc = char_order (at (b, blen, j));
          if (ac != bc)
            return ac - bc;
          i++;
          j++;
        }

      /* Digit runs: numeric order without converting, so that a run of any
         length compares right.  */
      while (i < alen && a[i] == '0')
        i++;
      while (j < blen && b[j] == '0')
        j++;
      for (si = i; i < alen && is_digit (a[i]); i++)
        ;
      for (sj = j; j < blen && is_digit (b[j]); j++)
        ;
      na = i - si;
      nb = j - sj;
      if (na != nb)
        return na > nb ? 1 : -1;
      if (na)
        {
          int r = memcmp (a + si, b + sj, na);
          if (r)
            return r;
        }
    }
  return 0;
}

static int
order_parsed (const struct deb_version *va, const struct deb_version *vb)
{
  int r;

  if (va->epoch != vb->epoch)
    return va->epoch > vb->epoch ? 1 : -1;
  r = compare_part (va->upstream, va->upstream_len, vb->upstream, vb->upstream_len);
  if (r)
    return r;
  return compare_part (va->revision, va->revision_len, vb->revision, vb->revision_len);
}

/* Each version parsed once: a floor check compares on every start.  */
int
version_dpkg_compare (const char *a, const char *b, int *order, char *why, size_t why_size)
{
  struct deb_version va, vb;

  if (parse (a, &va, why, why_size) < 0)
    return -1;
  if (parse (b, &vb, why, why_size) < 0)
    return -2;
  *order = order_parsed (&va, &vb);
  return 0;
}
