/* patchgate: what the format importers share: reading fields, folding
 * names, and building one scan with its findings deduplicated.
 */
#include "import/scan_builder.h"
#include "base/digest.h"
#include "base/json.h"
#include "version/version.h"

#include <ctype.h>
#include <string.h>

const char *
import_str (json_t *obj, const char *key)
{
  const char *s = pg_json_string (obj, key);
  return s && *s ? s : NULL;
}

const char *
import_str_exact (json_t *v)
{
  const char *s;
  if (!json_is_string (v))
    return NULL;
  s = json_string_value (v);
  /* A NUL inside would let "sha256:<hex>\0junk" pass for a clean digest.  */
  return strlen (s) == json_string_length (v) ? s : NULL;
}

bool
import_is_repo_digest (const char *s)
{
  const char *at;
  if (s == NULL)
    return false;
  at = strrchr (s, '@');
  if (at == NULL || at == s || !is_sha256_digest (at + 1))
    return false;
  /* The name part of a reference: registry host (any case, maybe a port)
     and lowercase path components.  Anything else ("REDACTED", a bare
     digest, whitespace) cannot be looked up later anyway.  */
  for (const char *p = s; p < at; p++)
    if (!isalnum ((unsigned char) *p) && strchr ("._-/:", *p) == NULL)
      return false;
  return true;
}

char *
import_fixed_versions (const char *const *versions, size_t n)
{
  char *out = NULL;
  size_t len = 0;

  for (size_t i = 0; i < n; i++)
    {
      const char *p = versions[i];
      while (p && *p)
        {
          const char *comma = strchr (p, ',');
          const char *end = comma ? comma : p + strlen (p);
          const char *b = p, *e = end;
          while (b < e && pg_json_is_space (*b))
            b++;
          while (e > b && pg_json_is_space (e[-1]))
            e--;
          if (e > b)
            {
              size_t add = (size_t) (e - b);
              out = xrealloc (out, len + add + 3);
              if (len)
                {
                  memcpy (out + len, ", ", 2);
                  len += 2;
                }
              memcpy (out + len, b, add);
              len += add;
              out[len] = '\0';
            }
          p = comma ? comma + 1 : NULL;
        }
    }
  return out;
}

char *
import_os_family (const char *family)
{
  /* Trivy and Grype name some distributions differently; fold both onto the
     names version_scheme_for_distro and the policy's min_versions use.  */
  static const char *const aliases[][2] = {
    { "redhat", "rhel" }, { "rockylinux", "rocky" },   { "almalinux", "alma" }, { "oraclelinux", "oracle" },
    { "ol", "oracle" },   { "amazonlinux", "amazon" }, { "amzn", "amazon" },    { "alpine linux", "alpine" },
  };
  char *s;

  if (family == NULL || *family == '\0')
    return NULL;
  s = xstrdup (family);
  for (char *p = s; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  for (size_t i = 0; i < sizeof (aliases) / sizeof (aliases[0]); i++)
    if (strcmp (s, aliases[i][0]) == 0)
      {
        free (s);
        return xstrdup (aliases[i][1]);
      }
  return s;
}

void
import_seen_init (struct import_seen *seen)
{
  seen->vulns = json_object ();
  seen->pkgs = json_object ();
  if (seen->vulns == NULL || seen->pkgs == NULL)
    abort ();
}

void
import_seen_release (struct import_seen *seen)
{
  json_decref (seen->vulns);
  json_decref (seen->pkgs);
  seen->vulns = seen->pkgs = NULL;
}

/* The parts joined by NUL bytes: C strings cannot hold one, so the key is
   unambiguous.  */
static char *
seen_key (const char *const *parts, size_t n, size_t *len)
{
  size_t total = 0, off = 0;
  char *key;

  for (size_t i = 0; i < n; i++)
    total += strlen (parts[i] ? parts[i] : "") + 1;
  key = xmalloc0 (total);
  for (size_t i = 0; i < n; i++)
    {
      size_t l = strlen (parts[i] ? parts[i] : "");
      memcpy (key + off, parts[i] ? parts[i] : "", l);
      off += l + 1;
    }
  *len = total;
  return key;
}

int
import_order_for_os (const char *family)
{
  cleanup_error pg_error_t err = NULL;
  enum pg_version_scheme scheme;

  if (family == NULL || version_scheme_for_distro (family, &scheme, &err) < 0)
    return IMPORT_ORDER_NONE;
  return (int) scheme;
}

/* "3.2.12", "v1.4", "v24.0.7+incompatible": digits and dots, maybe after
   a "v", maybe with build metadata after a "+" (which semver and Go leave
   out of the order).  Returns the digits and dots, or NULL.  */
static char *
plain_version (const char *s)
{
  size_t len;
  bool digit = false;

  if (s == NULL)
    return NULL;
  if (*s == 'v')
    s++;
  len = strcspn (s, "+");
  for (size_t i = 0; i < len; i++)
    {
      if (s[i] == '.' && digit)
        digit = false;
      else if (isdigit ((unsigned char) s[i]))
        digit = true;
      else
        return NULL;
    }
  return digit ? strndup (s, len) : NULL;
}

static int
order_compare (int order, const char *a, const char *b, int *cmp)
{
  cleanup_error pg_error_t err = NULL;
  cleanup_free char *pa = NULL;
  cleanup_free char *pb = NULL;

  if (order == IMPORT_ORDER_NONE)
    return -1;
  if (order == IMPORT_ORDER_PLAIN)
    {
      /* Plain dotted numbers: dpkg's order is the numeric one on them.  */
      pa = plain_version (a);
      pb = plain_version (b);
      if (pa == NULL || pb == NULL)
        return -1;
      a = pa;
      b = pb;
      order = PG_VERSION_DPKG;
    }
  return version_compare ((enum pg_version_scheme) order, a, b, cmp, &err);
}

char *
import_remedy (int order, const char *installed, const char *fixed)
{
  const char *best = NULL;
  char **list = NULL;
  size_t n = 0;
  char *out = NULL;

  for (const char *p = fixed; p && *p;)
    {
      const char *sep = strstr (p, ", ");
      cleanup_free char *one = strndup (p, sep ? (size_t) (sep - p) : strlen (p));
      strv_append (&list, &n, one);
      p = sep ? sep + 2 : NULL;
    }
  if (n < 2 || installed == NULL)
    goto out;
  for (size_t i = 0; i < n; i++)
    {
      int above = 0, below_best = -1;
      if (order_compare (order, list[i], installed, &above) < 0
          || (best && order_compare (order, list[i], best, &below_best) < 0))
        goto out;
      if (above > 0 && (best == NULL || below_best < 0))
        best = list[i];
    }
  out = xstrdup (best);
out:
  strv_free (list, n);
  return out;
}

void
import_add_vuln (struct pg_scan *scan, struct import_seen *seen, const struct pg_vuln *v, int order)
{
  const char *parts[] = { v->id, v->pkg, v->installed };
  size_t len;
  cleanup_free char *key = seen_key (parts, 3, &len);
  json_t *idx = json_object_getn (seen->vulns, key, len);
  struct pg_vuln *d;

  if (idx)
    {
      /* Grype reports one finding once per matcher that found it, and a
         report may list one finding twice with different severities or
         fixes: merged so that the decision does not depend on which entry
         comes first.  */
      d = &scan->vulns[json_integer_value (idx)];
      pg_vuln_merge (d, v);
    }
  else
    {
      pg_scan_add_vuln (scan, v);
      if (json_object_setn_new (seen->vulns, key, len, json_integer ((json_int_t) scan->n_vulns - 1)) < 0)
        abort ();
      d = &scan->vulns[scan->n_vulns - 1];
    }
  free (d->remedy);
  d->remedy = import_remedy (order, d->installed, d->fixed);
}

void
import_add_package (struct pg_scan *scan, struct import_seen *seen, const char *name, const char *version)
{
  const char *parts[] = { name, version };
  size_t len;
  cleanup_free char *key = seen_key (parts, 2, &len);

  if (json_object_getn (seen->pkgs, key, len))
    return;
  pg_scan_add_package (scan, name, version);
  if (json_object_setn_new (seen->pkgs, key, len, json_true ()) < 0)
    abort ();
}

void
import_strv_add (char ***v, size_t *n, const char *s)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*v)[i], s) == 0)
      return;
  strv_append (v, n, s);
}
