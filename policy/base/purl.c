/* patchgate: package URLs, after https://github.com/package-url/purl-spec
 * (the parsing steps of its "How to parse a purl string").
 */
#include "base/purl.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* S[0..LEN) percent-decoded; NULL when malformed or when it decodes to a
   control character (no package is named so, and the store keeps lists
   joined by newlines).  */
static char *
decode (const char *s, size_t len)
{
  char *out = xmalloc0 (len + 1), *o = out;

  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) s[i];
      if (c == '%')
        {
          if (i + 2 >= len || hex_value (s[i + 1]) < 0 || hex_value (s[i + 2]) < 0)
            goto bad;
          c = (unsigned char) (hex_value (s[i + 1]) * 16 + hex_value (s[i + 2]));
          i += 2;
        }
      if (c < 0x20 || c == 0x7f)
        goto bad;
      *o++ = (char) c;
    }
  return out;
bad:
  free (out);
  return NULL;
}

static void
lowercase (char *s)
{
  for (; s && *s; s++)
    *s = (char) tolower ((unsigned char) *s);
}

static bool
type_is (const char *type, const char *const *list)
{
  for (size_t i = 0; list[i]; i++)
    if (strcmp (type, list[i]) == 0)
      return true;
  return false;
}

/* The specification's per-type rules, for the types whose names compare
   without case: a scanner and a VEX author may write them either way.  */
static void
normalise (struct pg_purl *p)
{
  static const char *const lower_namespace[]
      = { "deb", "apk", "alpm", "rpm", "github", "bitbucket", "composer", NULL };
  static const char *const lower_name[]
      = { "deb", "apk", "alpm", "pypi", "github", "bitbucket", "composer", NULL };
  const char *epoch = purl_qualifier (p, "epoch");

  if (type_is (p->type, lower_namespace))
    lowercase (p->namespace);
  if (type_is (p->type, lower_name))
    lowercase (p->name);
  if (strcmp (p->type, "pypi") == 0)
    for (char *c = p->name; *c; c++)
      if (*c == '_')
        *c = '-';
  /* Trivy writes a Debian or RPM epoch as a qualifier, a VEX author may
     write it in the version: one form for both.  */
  if (epoch && *epoch && p->version && strchr (p->version, ':') == NULL)
    {
      char *v = NULL;
      xasprintf (&v, "%s:%s", epoch, p->version);
      free (p->version);
      p->version = v;
    }
}

static int
parse_qualifiers (const char *s, struct pg_purl *p)
{
  while (s && *s)
    {
      const char *amp = strchr (s, '&');
      size_t len = amp ? (size_t) (amp - s) : strlen (s);
      const char *eq = memchr (s, '=', len);
      if (len > 0)
        {
          cleanup_free char *key = NULL;
          cleanup_free char *value = NULL;
          if (eq == NULL || eq == s)
            return -1;
          key = decode (s, (size_t) (eq - s));
          value = decode (eq + 1, len - (size_t) (eq - s) - 1);
          if (key == NULL || value == NULL)
            return -1;
          lowercase (key);
          if (*value) /* an empty value is the same as no qualifier */
            {
              size_t n = p->n_qualifiers;
              strv_append (&p->qualifier_keys, &n, key);
              strv_append (&p->qualifier_values, &p->n_qualifiers, value);
            }
        }
      s = amp ? amp + 1 : NULL;
    }
  return 0;
}

int
purl_parse (const char *s, struct pg_purl *out)
{
  cleanup_free char *copy = NULL;
  char *rest, *q, *slash, *at, *last;
  size_t len;

  memset (out, 0, sizeof (*out));
  if (s == NULL || strncasecmp (s, "pkg:", 4) != 0 || strlen (s) > 4096)
    return -1;
  copy = xstrdup (s + 4);
  rest = copy;
  /* The specification's order: the subpath and the qualifiers off the
     right, the slashes around the rest, the type off the left, then the
     version, the name and the namespace off the right.  */
  if ((q = strrchr (rest, '#')) != NULL) /* a subpath names a file inside: not needed */
    *q = '\0';
  if ((q = strrchr (rest, '?')) != NULL)
    {
      *q++ = '\0';
      if (parse_qualifiers (q, out) < 0)
        goto bad;
    }
  while (*rest == '/')
    rest++;
  len = strlen (rest);
  while (len && rest[len - 1] == '/')
    rest[--len] = '\0';
  slash = strchr (rest, '/');
  if (slash == NULL || slash == rest)
    goto bad;
  out->type = decode (rest, (size_t) (slash - rest));
  if (out->type == NULL)
    goto bad;
  lowercase (out->type);
  rest = slash + 1;
  if ((at = strrchr (rest, '@')) != NULL)
    {
      *at++ = '\0';
      if (*at && (out->version = decode (at, strlen (at))) == NULL)
        goto bad;
    }
  len = strlen (rest);
  while (len && rest[len - 1] == '/')
    rest[--len] = '\0';
  last = strrchr (rest, '/');
  out->name = decode (last ? last + 1 : rest, strlen (last ? last + 1 : rest));
  if (out->name == NULL || *out->name == '\0')
    goto bad;
  if (last)
    {
      while (last > rest && last[-1] == '/')
        last--;
      if (last > rest && (out->namespace = decode (rest, (size_t) (last - rest))) == NULL)
        goto bad;
    }
  normalise (out);
  return 0;
bad:
  purl_clear (out);
  return -1;
}

void
purl_clear (struct pg_purl *p)
{
  free (p->type);
  free (p->namespace);
  free (p->name);
  free (p->version);
  strv_free (p->qualifier_keys, p->n_qualifiers);
  strv_free (p->qualifier_values, p->n_qualifiers);
  memset (p, 0, sizeof (*p));
}

const char *
purl_qualifier (const struct pg_purl *p, const char *key)
{
  for (size_t i = 0; i < p->n_qualifiers; i++)
    if (strcmp (p->qualifier_keys[i], key) == 0)
      return p->qualifier_values[i];
  return NULL;
}
