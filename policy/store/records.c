/* patchgate: the store's records in memory: scans as importers build them,
 * images as evaluation reads them, and how to free them.
 */
#include "store/store.h"

#include <string.h>
#include <strings.h>

static const char *const severity_names[PG_SEV_COUNT]
    = { "UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL" };

const char *
severity_name (enum pg_severity s)
{
  return (s >= 0 && s < PG_SEV_COUNT) ? severity_names[s] : "UNKNOWN";
}

enum pg_severity
severity_parse (const char *s)
{
  if (s == NULL)
    return PG_SEV_UNKNOWN;
  for (int i = 0; i < PG_SEV_COUNT; i++)
    if (strcasecmp (s, severity_names[i]) == 0)
      return (enum pg_severity) i;
  return PG_SEV_UNKNOWN;
}

static void
vuln_clear (struct pg_vuln *v)
{
  free (v->id);
  free (v->pkg);
  free (v->installed);
  free (v->fixed);
  free (v->status);
}

void
pg_scan_add_vuln (struct pg_scan *scan, const struct pg_vuln *v)
{
  struct pg_vuln *d;
  scan->vulns = xrealloc (scan->vulns, (scan->n_vulns + 1) * sizeof (*scan->vulns));
  d = &scan->vulns[scan->n_vulns++];
  d->id = xstrdup (v->id);
  d->pkg = xstrdup (v->pkg);
  d->installed = xstrdup (v->installed);
  d->fixed = xstrdup (v->fixed);
  d->severity = v->severity;
  d->status = xstrdup (v->status);
  d->fix_known_since = v->fix_known_since;
}

void
pg_scan_add_package (struct pg_scan *scan, const char *name, const char *version)
{
  struct pg_package *p;
  scan->packages = xrealloc (scan->packages, (scan->n_packages + 1) * sizeof (*scan->packages));
  p = &scan->packages[scan->n_packages++];
  p->name = xstrdup (name);
  p->version = xstrdup (version);
}

static void
packages_free (struct pg_package *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (p[i].name);
      free (p[i].version);
    }
  free (p);
}

static void
vulns_free (struct pg_vuln *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    vuln_clear (&v[i]);
  free (v);
}

void
pg_scan_free (struct pg_scan *scan)
{
  if (scan == NULL)
    return;
  free (scan->scanner);
  free (scan->scanner_version);
  free (scan->image_id);
  free (scan->manifest_digest);
  strv_free (scan->repo_digests, scan->n_repo_digests);
  strv_free (scan->repo_tags, scan->n_repo_tags);
  free (scan->os_family);
  free (scan->os_name);
  strv_free (scan->diff_ids, scan->n_diff_ids);
  vulns_free (scan->vulns, scan->n_vulns);
  packages_free (scan->packages, scan->n_packages);
  free (scan->source);
  memset (scan, 0, sizeof (*scan));
}

void
pg_vex_clear (struct pg_vex *v)
{
  free (v->vuln_id);
  free (v->status);
  strv_free (v->digests, v->n_digests);
  memset (v, 0, sizeof (*v));
}

void
pg_vex_free (struct pg_vex *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    pg_vex_clear (&v[i]);
  free (v);
}

void
pg_image_record_free (struct pg_image_record *rec)
{
  if (rec == NULL)
    return;
  free (rec->image_id);
  free (rec->manifest_digest);
  strv_free (rec->repositories, rec->n_repositories);
  strv_free (rec->repo_tags, rec->n_repo_tags);
  strv_free (rec->diff_ids, rec->n_diff_ids);
  free (rec->scanner);
  free (rec->os_family);
  free (rec->os_name);
  vulns_free (rec->vulns, rec->n_vulns);
  packages_free (rec->packages, rec->n_packages);
  pg_vex_free (rec->vex, rec->n_vex);
  memset (rec, 0, sizeof (*rec));
}
