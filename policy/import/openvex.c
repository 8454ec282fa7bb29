/* OpenVEX documents: a supplier's statement that an image is not affected
 * by, or already fixed for, a vulnerability.  patchgate records
 * `not_affected` and `fixed` statements per image digest; the policy decides
 * for how long such a statement counts (vex_max_age), as a waiver would.
 */
#include "import/import.h"
#include "import/scan_builder.h"
#include "base/json.h"
#include "base/clock.h"

#include <ctype.h>
#include <string.h>

bool
import_is_openvex (json_t *doc)
{
  const char *context = pg_json_string (doc, "@context");
  return context && strstr (context, "openvex") != NULL;
}

/* Products name images by purl ("pkg:oci/nginx@sha256%3A<hex>") or by
   digest: take every sha256 digest the identifier holds.  */
static void
collect_digests (const char *s, char ***out, size_t *n)
{
  static const char *const prefixes[] = { "sha256:", "sha256%3A", "sha256%3a", NULL };

  for (size_t i = 0; s && prefixes[i]; i++)
    {
      const char *p = s;
      size_t plen = strlen (prefixes[i]);
      while ((p = strstr (p, prefixes[i])) != NULL)
        {
          char digest[7 + 65];
          size_t k;
          p += plen;
          for (k = 0; k < 64 && isxdigit ((unsigned char) p[k]) && !isupper ((unsigned char) p[k]); k++)
            ;
          if (k == 64 && !isxdigit ((unsigned char) p[64]))
            {
              snprintf (digest, sizeof (digest), "sha256:%.64s", p);
              import_strv_add (out, n, digest);
            }
        }
    }
}

static void
product_digests (json_t *product, char ***out, size_t *n)
{
  if (json_is_string (product))
    collect_digests (json_string_value (product), out, n);
  else if (json_is_object (product))
    {
      collect_digests (pg_json_string (product, "@id"), out, n);
      collect_digests (pg_json_string (json_object_get (product, "identifiers"), "purl"), out, n);
    }
}

static const char *
statement_vulnerability (json_t *st)
{
  json_t *v = json_object_get (st, "vulnerability");
  /* v0.0.1 wrote a bare string; v0.2 an object with a name.  */
  if (json_is_string (v))
    return json_string_value (v);
  return pg_json_string (v, "name");
}

static int
parse_statement (json_t *st, size_t index, int64_t doc_time, const char *source, struct pg_vex *out,
                 pg_error_t *err)
{
  const char *vuln = statement_vulnerability (st);
  const char *status = pg_json_string (st, "status");
  const char *ts = pg_json_string (st, "timestamp");
  json_t *products = json_object_get (st, "products");
  json_t *p;
  size_t i;

  if (vuln == NULL || *vuln == '\0' || strlen (vuln) > 256)
    return pg_make_error (err, 0, "%s: statements[%zu]: missing vulnerability name", source, index);
  if (status == NULL)
    return pg_make_error (err, 0, "%s: statements[%zu]: missing status", source, index);
  out->issued = doc_time;
  if (ts && parse_rfc3339 (ts, &out->issued) < 0)
    return pg_make_error (err, 0, "%s: statements[%zu].timestamp: `%s` is not an RFC 3339 time", source,
                          index, ts);
  if (!json_is_array (products) || json_array_size (products) == 0)
    return pg_make_error (err, 0, "%s: statements[%zu]: no products", source, index);
  json_array_foreach (products, i, p)
    product_digests (p, &out->digests, &out->n_digests);
  out->vuln_id = xstrdup (vuln);
  out->status = xstrdup (status);
  return 0;
}

int
import_openvex (json_t *doc, const char *source, struct pg_vex **out, size_t *n, pg_error_t *err)
{
  const char *ts = pg_json_string (doc, "timestamp");
  json_t *statements = json_object_get (doc, "statements");
  int64_t doc_time;
  json_t *st;
  size_t i;

  *out = NULL;
  *n = 0;
  if (ts == NULL || parse_rfc3339 (ts, &doc_time) < 0)
    return pg_make_error (err, 0, "%s: OpenVEX document without a valid timestamp", source);
  if (!json_is_array (statements))
    return pg_make_error (err, 0, "%s: OpenVEX document without statements", source);
  json_array_foreach (statements, i, st)
    {
      struct pg_vex v = { 0 };
      const char *status;
      if (!json_is_object (st))
        {
          pg_vex_free (*out, *n);
          *out = NULL;
          *n = 0;
          return pg_make_error (err, 0, "%s: statements[%zu]: must be an object", source, i);
        }
      if (parse_statement (st, i, doc_time, source, &v, err) < 0)
        {
          pg_vex_clear (&v);
          pg_vex_free (*out, *n);
          *out = NULL;
          *n = 0;
          return -1;
        }
      status = v.status;
      /* Only statements that clear a finding matter to an allow-list of
         fixes; "affected" and "under_investigation" change nothing.  */
      if (v.n_digests == 0 || (strcmp (status, "not_affected") != 0 && strcmp (status, "fixed") != 0))
        {
          pg_vex_clear (&v);
          continue;
        }
      *out = xrealloc (*out, (*n + 1) * sizeof (**out));
      (*out)[(*n)++] = v;
    }
  return 0;
}
