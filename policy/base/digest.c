/* patchgate: image digests and references, as engines and registries write
 * them.
 */
#include "base/digest.h"

#include <ctype.h>
#include <string.h>

bool
is_hex64 (const char *s)
{
  size_t i;
  if (s == NULL)
    return false;
  for (i = 0; i < 64; i++)
    if (!isdigit ((unsigned char) s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
      return false;
  return s[64] == '\0';
}

bool
is_sha256_digest (const char *s)
{
  return s && strncmp (s, "sha256:", 7) == 0 && is_hex64 (s + 7);
}

char *
digest_normalize (const char *s)
{
  const char *at;
  char *out;

  if (s == NULL)
    return NULL;
  at = strrchr (s, '@');
  if (at)
    s = at + 1;
  if (is_sha256_digest (s))
    return xstrdup (s);
  if (is_hex64 (s))
    {
      xasprintf (&out, "sha256:%s", s);
      return out;
    }
  return NULL;
}

/* containers/image's rule: the first component is a registry only if it
   has a '.' or ':' or is "localhost"; otherwise Docker Hub is implied.  */
static char *
normalize_repository (const char *repo)
{
  const char *slash = strchr (repo, '/');
  char *out;

  if (slash)
    {
      size_t n = (size_t) (slash - repo);
      if (memchr (repo, '.', n) || memchr (repo, ':', n) || (n == 9 && strncmp (repo, "localhost", 9) == 0))
        return xstrdup (repo);
      xasprintf (&out, "docker.io/%s", repo);
      return out;
    }
  xasprintf (&out, "docker.io/library/%s", repo);
  return out;
}

int
image_ref_parse (const char *ref, char **repository, char **tag, char **digest)
{
  cleanup_free char *copy = NULL;
  char *at, *colon, *slash;

  if (ref == NULL || *ref == '\0' || strlen (ref) > 4096)
    return -1;
  copy = xstrdup (ref);
  at = strchr (copy, '@');
  if (at)
    {
      *at++ = '\0';
      if (!is_sha256_digest (at))
        return -1;
    }
  slash = strrchr (copy, '/');
  colon = strrchr (copy, ':');
  /* A ':' before the last '/' is a registry port, not a tag.  */
  if (colon && slash && colon < slash)
    colon = NULL;
  if (colon)
    *colon++ = '\0';
  if (*copy == '\0' || (colon && *colon == '\0'))
    return -1;
  if (repository)
    *repository = normalize_repository (copy);
  if (tag)
    *tag = colon ? xstrdup (colon) : NULL;
  if (digest)
    *digest = at ? xstrdup (at) : NULL;
  return 0;
}
